"""Plain `{name}` placeholders in text that staff write (canned replies, feeds' product URL
templates). Each known `{name}` becomes its value and nothing else is evaluated: no attribute
access (`{first_name.__class__}`), no indexing, no conversion or format spec, as
`str.format` would do. A value is put in once, never read again for placeholders."""

import re

PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
# Anything in braces that a writer may have meant as a placeholder: `{name}`,
# `{name.attribute}`, `{name[0]}`, `{name!r}`, `{0}`...
BRACED_RE = re.compile(r"\{([^{}\s]+)\}")


def fill_placeholders(text: str, values: dict) -> str:
    """`text` with each `{name}` of `values` replaced by its value (as a string); other
    braces are left as written."""

    def replace(match):
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return PLACEHOLDER_RE.sub(replace, text)


def unknown_placeholders(text: str, names) -> list[str]:
    """The braced words of `text` that are not `{name}` for one of `names`, as written
    (`{first_name.__class__}`), in order, each once."""
    allowed = set(names)
    found = []
    for match in BRACED_RE.finditer(text or ""):
        if match.group(1) not in allowed and match.group(0) not in found:
            found.append(match.group(0))
    return found
