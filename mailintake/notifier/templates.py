"""Rendering mail from Jinja2 templates that admins may override, safely and strictly.

Templates live in `templates/<language>/<kind>.txt.j2` and `.html.j2`; a folder named in the
config (`[notifier] templates_dir`, same layout) is searched first, so an admin overrides one
file without copying the rest. The environment is sandboxed and immutable (a template cannot
reach Python internals or change what it is given), undefined names are errors, and printing
None is an error too: a customer never gets an empty or "None" where a fact should be. Only
HTML is autoescaped. The subject is the text template's `{% block subject %}`; the layouts
collect it into `mail_subject`. `check_templates` renders every template with `SAMPLES` for
`mailintake templates check`. Override files are re-read when they change (Jinja's auto-reload).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateRuntimeError,
    TemplateSyntaxError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mailintake.notifier import formatting
from mailintake.notifier.contexts import KINDS, MailContext
from mailintake.notifier.formatting import LANGUAGES, normalize_language
from mailintake.notifier.samples import SAMPLES

PACKAGE_TEMPLATES = Path(__file__).with_name("templates")
DEFAULT_ZONE = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Rendered:
    """One mail's words: the subject line, the plain text and its HTML alternative."""

    subject: str
    text: str
    html: str | None
    language: str


@dataclass(frozen=True)
class TemplateProblem:
    """What is wrong with a template, and where: the file (and line, when known)."""

    template: str
    line: int | None
    message: str
    path: str | None = None

    def __str__(self) -> str:
        where = self.path or self.template
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


class RenderError(Exception):
    """A template could not be rendered; `problem` says which file, which line and why."""

    def __init__(self, problem: TemplateProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _refuse_none(value: Any) -> Any:
    # StrictUndefined catches names that do not exist; this catches optional fields that are
    # None, which Jinja would print as "None" in a customer's mail.
    if value is None:
        raise TemplateRuntimeError(
            "a value printed is None (not known for this mail); wrap it in {% if … %} and "
            "say what to write instead"
        )
    return value


def build_environment(
    override_dir: Path | None, zone: tzinfo = DEFAULT_ZONE
) -> ImmutableSandboxedEnvironment:
    loaders: list[BaseLoader] = []
    if override_dir is not None:
        loaders.append(FileSystemLoader(override_dir))
    loaders.append(FileSystemLoader(PACKAGE_TEMPLATES))
    environment = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        finalize=_refuse_none,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )

    def language_of(context: Context) -> str:
        return normalize_language(context.get("language"))

    @pass_context
    def when(context: Context, at: datetime) -> str:
        return formatting.format_when(at, language_of(context), zone)

    @pass_context
    def day(context: Context, at: datetime) -> str:
        return formatting.format_date(at, language_of(context), zone)

    @pass_context
    def clock(context: Context, at: datetime) -> str:
        return formatting.format_time(at, language_of(context), zone)

    @pass_context
    def duration(context: Context, value: timedelta) -> str:
        return formatting.format_duration(value, language_of(context))

    environment.filters.update(
        when=when, day=day, clock=clock, duration=duration, percent=formatting.format_percent
    )
    return environment


def template_names(kind: str, language: str) -> tuple[str, str]:
    """The text and HTML template of `kind` in `language`."""
    return f"{language}/{kind}.txt.j2", f"{language}/{kind}.html.j2"


class Templates:
    """The templates of one configuration, ready to render any kind of mail."""

    def __init__(
        self,
        override_dir: Path | None = None,
        *,
        zone: tzinfo = DEFAULT_ZONE,
        default_language: str = "nl",
    ) -> None:
        self.override_dir = override_dir
        self.default_language = normalize_language(default_language)
        self.environment = build_environment(override_dir, zone)

    def render(self, context: MailContext, language: str | None = None) -> Rendered:
        """Render the mail `context` stands for (its class names the kind) in `language`.

        An unknown language falls back to the default (Dutch). Raises `RenderError` naming the
        template file and line for anything a template gets wrong.
        """
        language = normalize_language(language, self.default_language)
        text_name, html_name = template_names(context.kind, language)
        variables = {**context.variables(), "language": language}
        module = self._run(text_name, variables)
        subject = " ".join(str(getattr(module, "mail_subject", "")).split())
        if not subject:
            raise RenderError(
                TemplateProblem(
                    text_name,
                    None,
                    "the subject is empty: extend the layout and fill {% block subject %}",
                    self._path_of(text_name),
                )
            )
        text = _tidy_text(str(module))
        html = str(self._run(html_name, {**variables, "mail_subject": subject})).strip() + "\n"
        return Rendered(subject=subject, text=text, html=html, language=language)

    def _run(self, name: str, variables: dict[str, Any]) -> Any:
        try:
            template = self.environment.get_template(name)
            try:
                # A module, not a string: the layout's top-level `mail_subject` is exported on it.
                return template.make_module(variables)
            except Exception:
                # make_module, unlike render, leaves the traceback in compiled Python; this
                # re-raises it with the template's own file names and line numbers.
                self.environment.handle_exception()
        except TemplateSyntaxError as error:
            raise RenderError(
                TemplateProblem(
                    error.name or name,
                    error.lineno,
                    error.message or str(error),
                    error.filename or self._path_of(name),
                )
            ) from error
        except Exception as error:
            # Whatever a template does wrong ({{ 1/0 }} included) is the template's problem,
            # reported with its file and line, never a crash of the caller.
            where, line = _template_frame(error)
            template = self._name_of(where) or name
            message = f"{type(error).__name__}: {error}"
            raise RenderError(
                TemplateProblem(template, line, message, where or self._path_of(name))
            ) from error

    def _path_of(self, name: str) -> str | None:
        if self.override_dir is not None and (self.override_dir / name).is_file():
            return str(self.override_dir / name)
        path = PACKAGE_TEMPLATES / name
        return str(path) if path.is_file() else None

    def _name_of(self, path: str | None) -> str | None:
        if path is None:
            return None
        for base in (self.override_dir, PACKAGE_TEMPLATES):
            if base is not None and Path(path).is_relative_to(base):
                return Path(path).relative_to(base).as_posix()
        return None


def _template_frame(error: BaseException) -> tuple[str | None, int | None]:
    """The template file and line an error was raised in (Jinja rewrites the traceback so
    template frames carry the template's own file name and line)."""
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.endswith(".j2"):
            found = (frame.filename, frame.lineno)
    return found


def _tidy_text(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one newline at the end."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        # "-- " is the signature separator (RFC 3676); keep its trailing space.
        if line == "--":
            line = "-- "
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def known_template_names() -> set[str]:
    return {
        path.relative_to(PACKAGE_TEMPLATES).as_posix() for path in PACKAGE_TEMPLATES.rglob("*.j2")
    }


def check_templates(
    override_dir: Path | None, *, zone: tzinfo = DEFAULT_ZONE
) -> list[TemplateProblem]:
    """Every problem in the templates as configured: syntax, unknown names, and any error
    rendering each kind in each language with the sample contexts. Empty means all good."""
    problems: list[TemplateProblem] = []
    if override_dir is not None:
        if not override_dir.is_dir():
            return [
                TemplateProblem(
                    str(override_dir),
                    None,
                    "no such folder; create it or leave [notifier] templates_dir out",
                )
            ]
        problems += _unknown_overrides(override_dir)
    templates = Templates(override_dir, zone=zone)
    for name in sorted(templates.environment.list_templates(extensions=["j2"])):
        try:
            templates.environment.get_template(name)
        except TemplateSyntaxError as error:
            problems.append(
                TemplateProblem(name, error.lineno, error.message or str(error), error.filename)
            )
    for kind in KINDS:
        for language in LANGUAGES:
            for sample in SAMPLES[kind]:
                try:
                    templates.render(sample, language)
                except RenderError as error:
                    if error.problem not in problems:
                        problems.append(error.problem)
    return problems


def _unknown_overrides(override_dir: Path) -> list[TemplateProblem]:
    # A misspelt file name would silently leave the built-in template in use. Files whose name
    # starts with "_" are the admin's own partials (for {% include %}) and are fine.
    known = known_template_names()
    problems = []
    for path in sorted(override_dir.rglob("*.j2")):
        name = path.relative_to(override_dir).as_posix()
        if name not in known and not path.name.startswith("_"):
            problems.append(
                TemplateProblem(
                    name,
                    None,
                    "not a template the daemon uses, so it has no effect; name it like "
                    f"<language>/<kind>.txt.j2 with language in {', '.join(LANGUAGES)} and kind "
                    f"in {', '.join(KINDS)}",
                    str(path),
                )
            )
    return problems
