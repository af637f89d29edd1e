"""A text file as lines plus everything needed to write it back byte for byte.

Line contents are compared without their terminators, so a diff written with LF applies to a
CRLF file; every untouched line keeps its own terminator, the BOM is kept, and so is the state
of the final newline unless a patch changes it on purpose.
"""

from typing import NamedTuple

BOM = b"\xef\xbb\xbf"


class TextDocument(NamedTuple):
    lines: list[str]
    endings: list[str]  # "\n", "\r\n" or "" (only ever the last line)
    bom: bool = False

    @classmethod
    def from_bytes(cls, data: bytes) -> "TextDocument":
        bom = data.startswith(BOM)
        text = data[len(BOM) :].decode("utf-8", "surrogateescape") if bom else data.decode("utf-8", "surrogateescape")
        lines = text.split("\n")
        endings = ["\n"] * len(lines)
        # split() yields one piece after the last "\n": empty when the file ends in a newline.
        if lines[-1] == "":
            lines.pop()
            endings.pop()
        else:
            endings[-1] = ""
        if "\r" in text:
            for i, line in enumerate(lines):
                if line.endswith("\r") and endings[i] == "\n":
                    lines[i] = line[:-1]
                    endings[i] = "\r\n"
        return cls(lines, endings, bom)

    @property
    def eol(self) -> str:
        """The terminator for new lines: the file's majority, LF for a file without any."""
        crlf = sum(1 for e in self.endings if e == "\r\n")
        lf = sum(1 for e in self.endings if e == "\n")
        return "\r\n" if crlf > lf else "\n"

    @property
    def final_newline(self) -> bool:
        return not self.endings or self.endings[-1] != ""

    def to_bytes(self) -> bytes:
        text = "".join(line + end for line, end in zip(self.lines, self.endings, strict=False))
        data = text.encode("utf-8", "surrogateescape")
        return BOM + data if self.bom else data

    def copy(self) -> "TextDocument":
        return TextDocument(list(self.lines), list(self.endings), self.bom)
