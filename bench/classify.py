"""Classifier throughput: mails/s with the default rules and with 1 000 more, against parsing.

A stream of `--mails` raw mails (default 10 000) is made from the labelled desk mails in
tests/classifiers/data (m*.eml and extra/x*.eml, taken in turn) mixed with mail drawn at random
from the public corpus in ../shared/corpus/public (`--corpus-share` of the stream, default 15 %:
bounces, auto-replies and odd real mail from other projects' test suites), if that folder is
there; the output says which. Every mail goes through mailintake's real parser
(`mailintake.intake.parse.parse`) and is classified with `classifiers.classify` by the default
rules (`load_rules()`). The first `--rules-mails` of the stream (default 4 000: 1 000 rules
cost too much to judge 10 000 mails within the run's two minutes) are then parsed and
classified again in a second pass by the default rules followed by `--rules` generated ones
(default 1 000: subject, body, sender, header and attachment conditions with contains,
word-list and regex matchers, any/all/not, adding tags and sometimes setting a kind, category
or required field, as a desk that keeps per-customer rules would write them). Parsing and
classifying are timed on their own for every mail, so the figures are parse-only mails/s and
parse+classify mails/s (parse time plus classify time, over the same mails) for both rule
sets, with their ratios. Mails are classified as arriving in service hours, with no
customers file. The generated rules come after the default ones, so, as in a real file, the
default screening rules (`stop = true`) keep them from judging spam, bounces and auto-replies.

    .venv/bin/python bench/classify.py
    .venv/bin/python bench/classify.py --mails 20000 --rules 2000 --corpus-share 0.3 --seed 7
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailintake.classifiers import (
    DEFAULT_RULES_PATH,
    RuleSet,
    classify,
    load_rules,
    parse_rules,
)
from mailintake.intake.parse import parse

REPO = Path(__file__).resolve().parent.parent
DESK_DIR = REPO / "tests" / "classifiers" / "data"
CORPUS_DIR = REPO.parent / "shared" / "corpus" / "public"
GENERATED_PREFIX = "gen-"

# Words a desk's own rules look for: products, services, places, departments, moods.
VOCABULARY = (
    "toestel",
    "toestellen",
    "telefoon",
    "headset",
    "display",
    "voicemail",
    "wachtrij",
    "keuzemenu",
    "centrale",
    "lijn",
    "doorschakelen",
    "doorverbinden",
    "nummerweergave",
    "belgroep",
    "softphone",
    "app",
    "router",
    "modem",
    "glasvezel",
    "internet",
    "wifi",
    "storing",
    "kapot",
    "ruis",
    "echo",
    "kraakt",
    "valt weg",
    "geen verbinding",
    "bezettoon",
    "receptie",
    "balie",
    "magazijn",
    "kantine",
    "directie",
    "boekhouding",
    "planning",
    "klantenservice",
    "verkoop",
    "inkoop",
    "werkplaats",
    "showroom",
    "praktijk",
    "apotheek",
    "factuur",
    "offerte",
    "contract",
    "licentie",
    "wachtwoord",
    "portaal",
    "handleiding",
    "spoed",
    "dringend",
    "urgent",
    "asap",
    "vandaag",
    "morgen",
    "maandag",
    "vrijdag",
    "phone",
    "handset",
    "queue",
    "extension",
    "forwarding",
    "caller id",
    "ring group",
    "voicemail box",
    "sip trunk",
    "number porting",
    "fax",
    "conference",
    "recording",
    "outage",
    "not working",
    "no dial tone",
    "one-way audio",
    "dropped calls",
    "jitter",
    "reception",
    "front desk",
    "warehouse",
    "call centre",
    "sales",
    "support",
    "billing",
    "invoice",
    "quote",
    "licence",
    "password",
    "manual",
    "training",
    "new office",
    "move",
    "Yealink",
    "Polycom",
    "Snom",
    "Gigaset",
    "Cisco",
    "Grandstream",
    "Fanvil",
    "Jabra",
    "T54W",
    "T46U",
    "VVX 411",
    "D785",
    "N870",
    "CP-8841",
    "Evolve2",
    "Teams",
    "3CX",
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Eindhoven",
    "Venlo",
    "Zwolle",
    "Groningen",
    "Breda",
    "Haarlem",
    "Leiden",
    "Delft",
    "Arnhem",
    "Nijmegen",
    "Tilburg",
    "Almere",
)
DOMAINS = tuple(
    f"{name}.{tld}"
    for name in (
        "bakkerij-jansen",
        "tandartspraktijk-zuid",
        "autobedrijf-devries",
        "hotel-debrug",
        "advocaten-meijer",
        "transport-bos",
        "installatie-smit",
        "kinderopvang-zon",
        "fysio-centrum",
        "makelaardij-visser",
        "drukkerij-mulder",
        "apotheek-plein",
        "example",
        "klant",
        "bedrijf",
        "zorggroep",
        "gemeente-oost",
        "school-west",
    )
    for tld in ("nl", "com", "eu")
)
REGEXES = (
    r"\b(?:ticket|case|order|bestelling)\s*(?:nr\.?|nummer|number|#)?\s*:?\s*\d{5,8}\b",
    r"\bINC\d{6,7}\b",
    r"\bREQ-\d{4,6}\b",
    r"\b0[1-9][0-9]?-?[0-9]{6,7}\b",
    r"\b\+31\s?[1-9][0-9]{0,2}\s?[0-9]{6,7}\b",
    r"\b(?:toestel|ext|extension)\s*\d{3,4}\b",
    r"\b[1-9][0-9]{3}\s?[A-Z]{2}\b",
    r"\b(?:SEP|MAC)[0-9A-F]{12}\b",
    r"\b(?:offerte|quote)\s*(?:nr\.?|#)?\s*[A-Z]{2}\d{4}\b",
    r"\bcontract\s*(?:nr\.?|nummer)?\s*[A-Z0-9-]{6,}\b",
    r"(?:^|\s)(?:re|fw|fwd|antw)\s*:",
    r"\b(?:vandaag|today)\s+(?:nog|still)\b",
    r"\bsinds\s+(?:gisteren|vanochtend|vanmorgen|maandag|dinsdag|woensdag|donderdag|vrijdag)\b",
    r"\b(?:since|from)\s+(?:yesterday|this morning|monday|tuesday|wednesday|thursday|friday)\b",
)
HEADERS = ("X-Mailer", "User-Agent", "Organization", "X-Priority", "Importance")
ATTACHMENT_TYPES = ("image/png", "image/jpeg", "application/pdf", "message/rfc822")


# --- the mail stream ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    source: str  # "desk" or "corpus"
    path: str
    raw: bytes
    tags: str = ""  # the corpus's categories.tsv tags


def desk_mails() -> list[Mail]:
    files = sorted(DESK_DIR.glob("m*.eml")) + sorted((DESK_DIR / "extra").glob("x*.eml"))
    return [Mail("desk", str(path.relative_to(DESK_DIR)), path.read_bytes()) for path in files]


def corpus_mails(folder: Path) -> list[Mail]:
    index = folder / "categories.tsv"
    if not index.is_file():
        return []
    mails = []
    for row in index.read_text(encoding="utf-8").splitlines()[1:]:
        path, _, tags = row.partition("\t")
        if (folder / path).is_file():
            mails.append(Mail("corpus", path, (folder / path).read_bytes(), tags))
    return mails


def mail_stream(
    count: int, desk: Sequence[Mail], corpus: Sequence[Mail], share: float, rng: random.Random
) -> list[Mail]:
    """Desk mails in turn, with a corpus mail drawn at random in place of `share` of them."""
    stream = []
    for index in range(count):
        if corpus and rng.random() < share:
            stream.append(rng.choice(corpus))
        else:
            stream.append(desk[index % len(desk)])
    return stream


# --- generated rules ----------------------------------------------------------------------------


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string without "\/" is a TOML string


def toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(item) for item in items) + "]"


def literal(pattern: str) -> str:
    assert "'" not in pattern and "\n" not in pattern
    return f"'{pattern}'"


def some_words(rng: random.Random, low: int = 2, high: int = 8) -> list[str]:
    return rng.sample(VOCABULARY, rng.randint(low, high))


def a_test(rng: random.Random) -> str:
    """One inline condition table: a subject and a matcher."""
    roll = rng.random()
    if roll < 0.30:
        subject = rng.choice(("subject_or_body", "body", "subject"))
        return f"{{ {subject}.words = {toml_list(some_words(rng))} }}"
    if roll < 0.45:
        subject = rng.choice(("subject", "body", "full_body"))
        return f"{{ {subject}.contains = {toml_list(some_words(rng, 1, 4))} }}"
    if roll < 0.60:
        subject = rng.choice(("subject_or_body", "body", "subject"))
        return f"{{ {subject}.regex = {literal(rng.choice(REGEXES))} }}"
    if roll < 0.75:
        domains = rng.sample(DOMAINS, rng.randint(1, 3))
        return f"{{ from_domain.equals = {toml_list(domains)} }}"
    if roll < 0.83:
        name = rng.choice(HEADERS)
        return f'{{ header."{name}".contains = {toml_list(some_words(rng, 1, 2))} }}'
    if roll < 0.90:
        return f"{{ attachment_type.equals = {toml_string(rng.choice(ATTACHMENT_TYPES))} }}"
    if roll < 0.95:
        return f"{{ body.min_words = {rng.randint(20, 200)} }}"
    return f"{{ from.regex = {literal(r'^(?:info|support|receptie|balie|it|ict)@')} }}"


def generated_rule(number: int, rng: random.Random) -> str:
    name = f"{GENERATED_PREFIX}{number:04d}"
    shape = rng.random()
    if shape < 0.45:
        when = f"when.any = [{a_test(rng)}, {a_test(rng)}]"
    elif shape < 0.75:
        when = f"when.all = [{a_test(rng)}, {a_test(rng)}]"
    elif shape < 0.90:
        when = f"when.all = [{a_test(rng)}, {{ not = {a_test(rng)} }}]"
    else:
        inner = f"{{ any = [{a_test(rng)}, {a_test(rng)}, {a_test(rng)}] }}"
        when = f"when.all = [{a_test(rng)}, {inner}]"
    actions = [f"tags = {toml_list([f'{name}-hit', rng.choice(('route-a', 'route-b', 'vip'))])}"]
    roll = rng.random()
    if roll < 0.10:
        actions.append(f'kind = "{rng.choice(("change", "service_request"))}"')
    elif roll < 0.18:
        actions.append(f'kind = "incident", category = "{rng.choice(("CAT I", "CAT II"))}"')
    elif roll < 0.24:
        actions.append(f'require = ["{rng.choice(("serial", "extension", "licence"))}"]')
    return (
        f'\n[[rule]]\nname = "{name}"\ndescription = "generated rule {number}"\n'
        f"{when}\nthen = {{ {', '.join(actions)} }}\n"
    )


def generated_rules(count: int, rng: random.Random) -> RuleSet:
    """The default rules followed by `count` generated ones, parsed as a rules file."""
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    text += "\n# Generated by bench/classify.py\n"
    text += "".join(generated_rule(number, rng) for number in range(1, count + 1))
    return parse_rules(text, source=f"<default + {count} generated rules>")


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Pass:
    """One pass over the stream with one rule set: the time of each step for each mail."""

    parse: list[float] = field(default_factory=list)
    classify: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    generated_hits: int = 0
    timeouts: int = 0


def run(stream: Sequence[Mail], rules: RuleSet) -> Pass:
    """Parse each mail and classify it by `rules`, timing both steps."""
    done = Pass()
    clock = time.perf_counter
    for mail in stream:
        began = clock()
        parsed = parse(mail.raw)
        parsed_at = clock()
        result = classify(parsed.mail, rules=rules, customers=None, received_in_service_hours=True)
        done.classify.append(clock() - parsed_at)
        done.parse.append(parsed_at - began)
        done.kinds[result.kind] += 1
        done.timeouts += any("timed out" in note for note in result.notes)
        done.generated_hits += sum(
            trace.hit for trace in result.explanation if trace.rule.startswith(GENERATED_PREFIX)
        )
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000, help="mails in the stream")
    parser.add_argument("--rules", type=int, default=1_000, help="generated rules to add")
    parser.add_argument(
        "--rules-mails",
        type=int,
        default=4_000,
        help="mails (the first of the stream) also run with the generated rules",
    )
    parser.add_argument(
        "--corpus-share", type=float, default=0.15, help="share of corpus mail in the stream"
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="public corpus folder")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    # mail-parser logs a warning for every MIME type it does not know; the corpus is full of them.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    desk, corpus = desk_mails(), corpus_mails(args.corpus)
    stream = mail_stream(args.mails, desk, corpus, args.corpus_share, rng)
    subset = min(args.rules_mails, len(stream))
    default = load_rules()
    more = generated_rules(args.rules, rng)

    print(f"Classifier throughput (seed {args.seed})")
    sources = Counter(mail.source for mail in stream)
    size = sum(len(mail.raw) for mail in stream) / 1e6
    print(
        f"{len(stream)} mails, {size:.1f} MB: {sources['desk']} labelled desk mails "
        f"({len(desk)} files from {DESK_DIR.relative_to(REPO)}, taken in turn)"
    )
    if corpus:
        drawn = Counter(
            tag
            for mail in stream
            if mail.source == "corpus"
            for tag in mail.tags.split(",")
            if tag in ("bounce", "autoreply")
        )
        print(
            f"  + {sources['corpus']} drawn at random from {len(corpus)} public corpus files in "
            f"{args.corpus} ({drawn['bounce']} bounces, {drawn['autoreply']} auto-replies)"
        )
    else:
        print(f"  no public corpus at {args.corpus}: desk mails only")
    print(
        f"rules: the default {len(default.rules)}; the generated set {len(more.rules)} "
        f"(the defaults, then {args.rules} generated), run on the first {subset} mails"
    )
    # Warm up imports, compiled patterns and caches on each desk mail once, untimed.
    run(desk, default)
    run(desk, more)
    by_default = run(stream, default)
    by_more = run(stream[:subset], more)

    def ms(times: Sequence[float]) -> float:
        return sum(times) / len(times) * 1e3

    print(f"{'':36}{'mails':>7}{'mails/s':>9}{'ms/mail':>9}{'vs parse':>10}{'classify ms':>13}")
    rows: list[tuple[str, Sequence[float], Sequence[float] | None]] = [
        ("parse only", by_default.parse, None),
        (f"parse + classify, {len(default.rules)} rules", by_default.parse, by_default.classify),
        (f"  same, first {subset} mails", by_default.parse[:subset], by_default.classify[:subset]),
        (f"parse + classify, {len(more.rules)} rules", by_more.parse, by_more.classify),
    ]
    for label, parsing, judging in rows:
        total = ms(parsing) + (ms(judging) if judging else 0.0)
        ratio = ms(parsing) / total
        alone = f"{ms(judging):13.2f}" if judging else f"{'-':>13}"
        print(f"{label:36}{len(parsing):7}{1e3 / total:9.0f}{total:9.2f}{ratio:10.2f}{alone}")
    print(
        "'vs parse': mails/s divided by parse-only mails/s over the same mails "
        "(each pass times its own parsing)"
    )
    default_ms = ms(by_default.classify[:subset])
    slower = ms(by_more.classify) / default_ms
    with_parse = (ms(by_more.parse) + ms(by_more.classify)) / (
        ms(by_default.parse[:subset]) + default_ms
    )
    print(
        f"{len(more.rules)} rules vs the default {len(default.rules)} on the same {subset} mails: "
        f"classify takes {slower:.1f}x as long, parse + classify {with_parse:.1f}x"
    )
    print(
        "kinds, default rules: "
        + ", ".join(f"{kind} {n}" for kind, n in by_default.kinds.most_common())
    )
    print(
        f"generated rules hit {by_more.generated_hits / max(1, subset):.1f} times per mail; "
        f"mails with a regex timeout: default {by_default.timeouts}, "
        f"generated set {by_more.timeouts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
