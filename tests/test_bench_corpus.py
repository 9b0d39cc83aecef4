"""bench/corpus.py on a 0.3 MB corpus: determinism, WET framing read back by udfs.warc, size, languages, copies."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
import zlib
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bench.corpus import LANGUAGES, CorpusSummary, build_corpus, generate, main
from udfs.quality.config import QualityConfig
from udfs.quality.rules import reasons, tag_batch
from udfs.warc import WetDocument, read_wet

MB = 0.3
FILES = 3
SEED = 7


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusSummary:
    return build_corpus(tmp_path_factory.mktemp("corpus"), MB, FILES, SEED)


@pytest.fixture(scope="module")
def documents(corpus: CorpusSummary) -> dict[str, WetDocument]:
    """Every document of the corpus by id, read with the pipeline's reader; each file must read cleanly."""
    found: dict[str, WetDocument] = {}
    for path in corpus.paths:
        with path.open("rb") as handle:
            reader = read_wet(handle, str(path))
            docs = list(reader)
        assert reader.stats.status == "ok" and reader.stats.skipped == {}
        assert reader.stats.warcinfo_records == 1
        for doc in docs:
            assert doc.id not in found
            found[doc.id] = doc
    return found


def gzip_members(data: bytes) -> list[bytes]:
    """The decompressed members of a multi-member gzip file, one by one."""
    members = []
    while data:
        inflater = zlib.decompressobj(wbits=31)
        members.append(inflater.decompress(data) + inflater.flush())
        data = inflater.unused_data
    return members


def split_record(member: bytes) -> tuple[dict[str, str], bytes]:
    head, separator, rest = member.partition(b"\r\n\r\n")
    assert separator and head.startswith(b"WARC/1.0\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    length = int(headers["Content-Length"])
    assert rest[length:] == b"\r\n\r\n", "the body is exactly Content-Length bytes, then the record end"
    return headers, rest[:length]


def test_same_arguments_give_byte_identical_files(corpus: CorpusSummary, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", MB, FILES, SEED)
    assert [p.name for p in again] == [f"bench-{i:05d}.warc.wet.gz" for i in range(FILES)]
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in corpus.paths]
    other_seed = generate(tmp_path / "other", MB, FILES, SEED + 1)
    assert other_seed[0].read_bytes() != corpus.paths[0].read_bytes()


def test_each_record_is_one_gzip_member_with_cc_headers(corpus: CorpusSummary) -> None:
    for path in corpus.paths:
        members = gzip_members(path.read_bytes())
        info_headers, info_body = split_record(members[0])
        assert info_headers["WARC-Type"] == "warcinfo" and b"isPartOf: CC-MAIN-2024-22" in info_body
        for member in members[1:]:
            headers, body = split_record(member)
            assert list(headers) == [
                "WARC-Type", "WARC-Target-URI", "WARC-Date", "WARC-Record-ID", "WARC-Refers-To",
                "WARC-Block-Digest", "WARC-Identified-Content-Language", "Content-Type", "Content-Length",
                "WARC-Payload-Digest",
            ]  # fmt: skip
            assert headers["WARC-Type"] == "conversion" and headers["Content-Type"] == "text/plain"
            assert headers["WARC-Block-Digest"] == "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()
            record_id = re.fullmatch(r"<urn:uuid:([0-9a-f-]{36})>", headers["WARC-Record-ID"])
            assert record_id and uuid.UUID(record_id.group(1))
            assert re.fullmatch(r"2024-05-(1[7-9]|2\d|30)T\d\d:\d\d:\d\dZ", headers["WARC-Date"])
            assert re.fullmatch(r"[a-z]{3}", headers["WARC-Identified-Content-Language"])
            assert len(body.decode()) >= 300 and body.endswith(b"\n")


def test_every_record_reads_back_with_its_text_and_no_rejects(
    corpus: CorpusSummary, documents: dict[str, WetDocument]
) -> None:
    written = {}
    for path in corpus.paths:
        for member in gzip_members(path.read_bytes())[1:]:
            headers, body = split_record(member)
            written[headers["WARC-Record-ID"][len("<urn:uuid:") : -1]] = (headers, body.decode("utf-8"))
    assert set(documents) == set(written)
    for doc_id, doc in documents.items():
        headers, text = written[doc_id]
        assert doc.reason is None
        assert doc.text == text
        assert (doc.url, doc.date, doc.cc_lang) == (
            headers["WARC-Target-URI"],
            headers["WARC-Date"],
            headers["WARC-Identified-Content-Language"],
        )
        assert doc.crawl == "CC-MAIN-2024-22"
    assert len({doc.url for doc in documents.values()}) == len(documents)


def test_total_text_is_the_requested_size(corpus: CorpusSummary, documents: dict[str, WetDocument]) -> None:
    body_bytes = sum(doc.length for doc in documents.values())
    assert body_bytes == corpus.body_bytes
    assert abs(body_bytes - MB * 1_000_000) <= 0.05 * MB * 1_000_000
    per_file = Counter(doc.source_file for doc in documents.values())
    assert len(per_file) == FILES


def test_language_mix_has_english_first_and_many_languages(documents: dict[str, WetDocument]) -> None:
    languages = Counter(doc.cc_lang for doc in documents.values())
    assert languages.most_common(1)[0][0] == "eng"
    assert 0.3 <= languages["eng"] / len(documents) <= 0.6
    assert len(languages) >= 8
    assert {"rus", "deu", "zho", "jpn"} & set(languages)
    chinese = [doc.text for doc in documents.values() if doc.cc_lang == "zho"]
    assert chinese and all(len(re.findall(r"[\u4e00-\u9fff]", text)) > 100 for text in chinese)


def test_planted_copies_and_spam(corpus: CorpusSummary, documents: dict[str, WetDocument]) -> None:
    assert corpus.exact_copies and corpus.near_copies and corpus.spam_ids
    for copy_id, original_id in corpus.exact_copies:
        copy, original = documents[copy_id], documents[original_id]
        assert copy.text.encode() == original.text.encode()
        assert copy.url != original.url
    texts = Counter(doc.text for doc in documents.values())
    assert sum(n - 1 for n in texts.values()) == len(corpus.exact_copies), "no duplicates besides the planted ones"
    for copy_id, original_id in corpus.near_copies:
        copy_lines, original_lines = documents[copy_id].text.splitlines(), documents[original_id].text.splitlines()
        assert copy_lines != original_lines
        shared = len(set(copy_lines) & set(original_lines))
        assert shared >= 0.5 * len(set(original_lines))


def test_quality_rules_drop_the_spam_and_keep_a_good_share_of_ordinary_pages(
    corpus: CorpusSummary, documents: dict[str, WetDocument]
) -> None:
    lang_of = {language.iso3: language.code for language in LANGUAGES}
    frame = pd.DataFrame(
        [(doc_id, doc.text, doc.url, lang_of[doc.cc_lang]) for doc_id, doc in documents.items()],
        columns=["id", "text", "url", "lang"],
    )
    conf = QualityConfig()
    frame["reason"] = reasons(tag_batch(frame, conf), frame["lang"], conf).to_numpy()
    dropped = frame.set_index("id")["reason"].notna()
    assert dropped[corpus.spam_ids].all()
    planted = set(corpus.spam_ids) | {copy for copy, _ in corpus.exact_copies + corpus.near_copies}
    ordinary = dropped[[doc_id for doc_id in frame["id"] if doc_id not in planted]]
    assert 0.3 <= 1 - ordinary.mean() <= 0.9


def test_cli_writes_the_files_and_describes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir, truth = tmp_path / "out", tmp_path / "truth.json"
    args = ["--out", str(out_dir), "--mb", "0.05", "--files", "2", "--describe", "--truth", str(truth)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 files" in printed and re.search(r"^en\s+\d+", printed, re.MULTILINE)
    assert sorted(p.name for p in out_dir.iterdir()) == ["bench-00000.warc.wet.gz", "bench-00001.warc.wet.gz"]
    assert set(json.loads(truth.read_text())) == {"spam", "exact_copies", "near_copies"}
