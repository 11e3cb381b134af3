"""Sketch geometry (RDP, resampling, Quick, Draw! simplification, stroke-3) and the labelled-sketch readers.

Ground truth: hand-computed cases, a brute-force RDP written here, Google's official simplified files for the raw
drawings they share, and small Omniglot archives built in tmp_path."""
import json
import math
import os
import re
import zipfile

import numpy as np
import pytest
from scipy.spatial.distance import directed_hausdorff

from sketch_rnn_ext import sources, strokes
from sketch_rnn_ext.strokes import lines_to_stroke3, rdp, resample, simplify_drawing, stroke3_to_lines

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
OMNIGLOT_ZIPS = [os.path.join(SHARED, "omniglot_strokes", f"strokes_background_small{i}.zip") for i in (1, 2)]
CLASSES = ("apple", "camel", "donut", "flower", "hand", "leaf", "pants", "pear", "sheep", "shorts", "van")


# -- RDP ---------------------------------------------------------------------------------------------------------
def line_dist(p, a, b, segment=False):
    """Distance of p to the line through a and b (or to the segment a-b), to a when a == b; plain Python."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    if length == 0:
        return math.hypot(px - ax, py - ay)
    if segment:
        t = min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
        return math.hypot(px - ax - t * dx, py - ay - t * dy)
    return abs(dx * (py - ay) - dy * (px - ax)) / length


def rdp_reference(points, eps, segment=False):
    """The textbook recursive RDP (first farthest point on ties), returning kept indices."""
    def rec(i, j):
        if j - i < 2:
            return []
        d = [line_dist(points[k], points[i], points[j], segment) for k in range(i + 1, j)]
        k = i + 1 + int(np.argmax(d))
        return rec(i, k) + [k] + rec(k, j) if max(d) > eps else []
    return [0] + rec(0, len(points) - 1) + [len(points) - 1]


def kept_indices(points, out):
    """Indices of the rows of ``out`` in ``points`` (a subsequence), or an AssertionError."""
    idx, start = [], 0
    for row in out:
        hits = [k for k in range(start, len(points)) if np.array_equal(points[k], row)]
        assert hits, "rdp output is not a subsequence of its input"
        idx.append(hits[0])
        start = hits[0] + 1
    return idx


@pytest.mark.parametrize("points, eps, expected", [
    ([(0, 0), (1, 0), (2, 0), (5, 0)], 0.1, [(0, 0), (5, 0)]),                      # collinear
    ([(0, 0), (1, 0.1), (2, 5), (3, 0.1), (4, 0)], 1.0, [(0, 0), (2, 5), (4, 0)]),   # a peak
    ([(0, 0), (1, 0.5), (2, -0.5), (3, 0.5), (4, 0)], 1.0, [(0, 0), (4, 0)]),        # noise below epsilon
    ([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], 0.5, [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]),  # closed square
    ([(0, 0), (20, 0), (5, 0)], 1.0, [(0, 0), (5, 0)]),  # a stroke doubling back: the tip is on the line
    ([(0, 0), (3, 4)], 1.0, [(0, 0), (3, 4)]),
    ([(2, 2)], 1.0, [(2, 2)]),
])
def test_rdp_hand_built(points, eps, expected):
    np.testing.assert_array_equal(rdp(np.array(points, float), eps), np.array(expected, float))


def test_rdp_segment_keeps_the_tip_of_a_stroke_doubling_back():
    pts = np.array([(0, 0), (20, 0), (5, 0)], float)
    np.testing.assert_array_equal(rdp(pts, 1.0, segment=True), pts)


@pytest.mark.parametrize("segment", [False, True])
def test_rdp_matches_brute_force_definition(segment):
    rng = np.random.default_rng(0)
    for trial in range(40):
        pts = np.cumsum(rng.normal(size=(int(rng.integers(3, 60)), 2)) * rng.uniform(0.3, 5), axis=0)
        if trial % 5 == 0:
            pts[-1] = pts[0]  # a closed stroke: distances to the start point
        eps = float(rng.uniform(0.2, 4))
        out = rdp(pts, eps, segment=segment)
        idx = kept_indices(pts, out)
        assert idx[0] == 0 and idx[-1] == len(pts) - 1
        assert idx == rdp_reference(pts, eps, segment)
        for i, j in zip(idx[:-1], idx[1:]):  # every dropped point is within epsilon of its kept span
            assert all(line_dist(pts[k], pts[i], pts[j], segment) <= eps for k in range(i + 1, j))


def test_rdp_is_iterative():
    # a growing sawtooth: RDP splits off one point at a time, 2998 levels deep (past Python's recursion limit)
    k = np.arange(3000)
    pts = np.stack([k, (-1.0) ** k * 1.001 ** k], axis=1)
    assert len(rdp(pts, 0.5)) == 3000


def test_rdp_rejects_bad_epsilon():
    with pytest.raises(ValueError, match="epsilon"):
        rdp(np.zeros((3, 2)), -1)


# -- resampling --------------------------------------------------------------------------------------------------
def test_resample_hand_built():
    np.testing.assert_allclose(resample([(0, 0), (10, 0)]), [(x, 0) for x in range(11)])
    # the corner (1.5, 0) is not kept: points lie every 1.0 along the whole stroke, then the end point
    np.testing.assert_allclose(resample([(0, 0), (1.5, 0), (1.5, 2)]),
                               [(0, 0), (1, 0), (1.5, 0.5), (1.5, 1.5), (1.5, 2)])
    np.testing.assert_allclose(resample([(0, 0), (0, 3)], spacing=2.0), [(0, 0), (0, 2), (0, 3)])
    np.testing.assert_array_equal(resample([(4, 4), (4, 4), (4, 4)]), [(4, 4), (4, 4)])
    np.testing.assert_array_equal(resample([(4, 4)]), [(4, 4)])


def test_resample_spacing_along_random_strokes():
    rng = np.random.default_rng(1)
    for _ in range(20):
        # x strictly increasing, so a point of the stroke is located by its x alone
        pts = np.stack([np.cumsum(rng.uniform(0.1, 5, 30)), rng.normal(size=30) * 4], axis=1)
        spacing = float(rng.uniform(0.3, 2))
        out = resample(pts, spacing)
        np.testing.assert_array_equal(out[[0, -1]], pts[[0, -1]])
        seg = np.hypot(*np.diff(pts, axis=0).T)
        arc = np.concatenate([[0], np.cumsum(seg)])
        k = np.clip(np.searchsorted(pts[:, 0], out[:, 0]) - 1, 0, len(pts) - 2)
        t = (out[:, 0] - pts[k, 0]) / (pts[k + 1, 0] - pts[k, 0])
        np.testing.assert_allclose(out[:, 1], pts[k, 1] + t * (pts[k + 1, 1] - pts[k, 1]), atol=1e-9)  # on it
        gaps = np.diff(arc[k] + t * seg[k])  # arc length between consecutive points
        np.testing.assert_allclose(gaps[:-1], spacing, atol=1e-9)
        assert 0 < gaps[-1] <= spacing + 1e-9


# -- stroke-3 ----------------------------------------------------------------------------------------------------
def test_lines_to_stroke3_hand_computed():
    lines = [np.array([(1, 2), (4, 6)]), np.array([(4, 6)]), np.zeros((0, 2)), np.array([(0, 0), (2, -1), (3, 3)])]
    expected = [(1, 2, 0), (3, 4, 1), (0, 0, 1), (-4, -6, 0), (2, -1, 0), (1, 4, 1)]  # first row: from (0, 0)
    got = lines_to_stroke3(lines)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    back = stroke3_to_lines(got)
    assert len(back) == 3
    for a, b in zip(back, [lines[0], lines[1], lines[3]]):
        np.testing.assert_array_equal(a, b)


def test_stroke3_round_trip_random():
    rng = np.random.default_rng(2)
    for _ in range(20):
        lines = [rng.integers(-50, 300, size=(int(rng.integers(1, 9)), 2)) for _ in range(int(rng.integers(1, 6)))]
        back = stroke3_to_lines(lines_to_stroke3(lines))
        assert len(back) == len(lines)
        for a, b in zip(back, lines):
            np.testing.assert_array_equal(a, b)


def test_lines_to_stroke3_rejects_bad_input():
    with pytest.raises(ValueError, match="integers"):
        lines_to_stroke3([np.array([(0.5, 1.0)])])
    with pytest.raises(ValueError, match="at least one point"):
        lines_to_stroke3([np.zeros((0, 2))])


# -- Quick, Draw! simplification ---------------------------------------------------------------------------------
def test_simplify_drawing_hand_built():
    # align to (0, 0), scale so that the largest coordinate is 255; collinear points go; ints
    out = simplify_drawing([np.array([(10, 20), (60, 20), (110, 20)]), np.array([(110, 60)])])
    assert all(s.dtype == np.int64 for s in out)
    np.testing.assert_array_equal(out[0], [(0, 0), (255, 0)])
    np.testing.assert_array_equal(out[1], [(255, 102), (255, 102)])  # one point -> two, as Google's files
    # a drawing whose points are all equal: no division by zero; empty strokes dropped
    out = simplify_drawing([np.zeros((0, 2)), np.array([(5, 5), (5, 5)]), np.array([(5.0, 5.0)])])
    assert [s.tolist() for s in out] == [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]
    with pytest.raises(ValueError, match="at least one point"):
        simplify_drawing([np.zeros((0, 2))])
    with pytest.raises(ValueError, match="finite"):
        simplify_drawing([np.array([(0.0, np.nan)])])


def dense(lines):
    return np.concatenate([resample(np.asarray(s, float), 0.5) for s in lines])


def test_simplified_raw_matches_googles_simplified_files():
    """Measured on the 262 shared drawings: 248 identical (887 of 901 strokes); the others differ only where
    points tie for the farthest from a line. Per drawing, the symmetric Hausdorff distance between the drawn
    curves is at most 2.56 px (median 0) and the point count is 0.92..1.02 times Google's."""
    identical, shared, ratios, total = 0, 0, [], [0, 0]
    for cls in CLASSES:
        name_raw, raw = sources.read_ndjson(os.path.join(sources.packaged_quickdraw("raw"), f"{cls}.ndjson"))
        name_simple, simple = sources.read_ndjson(
            os.path.join(sources.packaged_quickdraw("simplified"), f"{cls}.ndjson"))
        assert name_raw == name_simple == cls
        raw = dict(raw)
        for key, official in simple:
            if key not in raw:
                continue
            shared += 1
            ours = raw[key]
            identical += np.array_equal(ours, official)
            a, b = dense(stroke3_to_lines(ours)), dense(stroke3_to_lines(official))
            assert max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0]) <= 3.0, key
            ratios.append(len(ours) / len(official))
            total[0] += len(ours)
            total[1] += len(official)
            assert ours[:, 2].sum() == official[:, 2].sum()  # the same strokes
    assert shared == 262
    assert identical >= 240
    assert 0.9 <= min(ratios) and max(ratios) <= 1.1
    assert abs(total[0] / total[1] - 1) < 0.01


# -- Omniglot ----------------------------------------------------------------------------------------------------
def make_zip(path, files, root="strokes_small"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{root}/.DS_Store", b"\0\1junk")
        z.writestr(f"__MACOSX/{root}/._.DS_Store", b"junk")
        for rel, text in files.items():
            z.writestr(f"{root}/{rel}", text)
            z.writestr(f"__MACOSX/{root}/{os.path.dirname(rel)}/._{os.path.basename(rel)}", b"\0junk")
    return str(path)


# stroke 1: (0, 0) -> (5, 0) -> (10, 0); stroke 2: the single point (10, -10), i.e. 10 rows down the image
ALPHA = "START\n0,0,0\n5,0,3\n10,0,5\nBREAK\n10,-10,9\nBREAK\n"
ALPHA_STROKE3 = [(0, 0, 0), (255, 0, 1), (0, 255, 0), (0, 0, 1)]  # scaled by 25.5, y down
BETA = "START\n0,0,0\n0,-20,1\nBREAK\n"  # a vertical line drawn downwards
BETA_STROKE3 = [(0, 0, 0), (0, 255, 1)]


def test_read_omniglot_hand_written_zip_and_directory(tmp_path):
    files = {"Alpha/character01/a1.txt": ALPHA, "Beta/character01/b1.txt": BETA, "Beta/character02/b2.txt": BETA}
    archive = make_zip(tmp_path / "small.zip", files)
    got = sources.read_omniglot(archive)
    assert sorted(got) == ["Alpha", "Beta"]
    assert [rel for rel, _ in got["Beta"]] == ["Beta/character01/b1.txt", "Beta/character02/b2.txt"]
    np.testing.assert_array_equal(got["Alpha"][0][1], ALPHA_STROKE3)
    np.testing.assert_array_equal(got["Beta"][0][1], BETA_STROKE3)
    # the same tree unzipped
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unzipped")
    got_dir = sources.read_omniglot(tmp_path / "unzipped" / "strokes_small")
    assert {k: [(r, s.tolist()) for r, s in v] for k, v in got_dir.items()} == \
        {k: [(r, s.tolist()) for r, s in v] for k, v in got.items()}
    labelled = sources.load_labelled([tmp_path / "unzipped" / "strokes_small"])
    assert labelled.classes == ("Alpha", "Beta") and labelled.info["counts"] == {"Alpha": 1, "Beta": 2}


def test_omniglot_duplicates_across_archives_are_counted_once(tmp_path):
    first = make_zip(tmp_path / "one.zip", {"Alpha/c1/a1.txt": ALPHA, "Beta/c1/b1.txt": BETA}, root="r1")
    second = make_zip(tmp_path / "two.zip", {"Beta/c1/b1.txt": BETA, "Beta/c2/b2.txt": BETA,
                                             "Gamma/c1/g1.txt": ALPHA}, root="r2")
    got = sources.load_labelled([first, second])
    assert got.classes == ("Alpha", "Beta", "Gamma")
    assert got.info["counts"] == {"Alpha": 1, "Beta": 2, "Gamma": 1}
    assert got.info["duplicates_skipped"] == {"Alpha": 0, "Beta": 1, "Gamma": 0}
    assert got.sources["Beta"] == [first, second]
    assert got.info["formats"] == {first: "omniglot-zip", second: "omniglot-zip"}


@pytest.fixture(scope="module")
def omniglot():
    if not all(os.path.exists(p) for p in OMNIGLOT_ZIPS):
        pytest.skip("the shared Omniglot archives are not here")
    return sources.load_labelled(OMNIGLOT_ZIPS)


def test_real_omniglot_zips_dedupe_latin_and_greek(omniglot):
    counts = {"Balinese": 480, "Early_Aramaic": 440, "Greek": 480, "Japanese_(katakana)": 940, "Korean": 800,
              "Latin": 520, "Sanskrit": 840, "Tagalog": 340}
    assert omniglot.classes == tuple(sorted(counts))
    assert omniglot.info["counts"] == counts
    assert omniglot.info["duplicates_skipped"] == {c: counts[c] if c in ("Greek", "Latin") else 0 for c in counts}
    assert omniglot.predefined == {}
    for sketches in omniglot.pool.values():
        for s in sketches[::40]:
            xy = np.cumsum(s[:, :2], axis=0)
            assert s.dtype == np.int64 and s[-1, 2] == 1
            assert xy.min() >= 0 and xy.max() <= 255 and len(s) <= 250


# -- load_labelled -----------------------------------------------------------------------------------------------
def test_load_labelled_packaged_quickdraw():
    raw = sources.load_labelled(sources.packaged_quickdraw("raw"))
    assert raw.classes == CLASSES
    assert raw.info["counts"] == {"apple": 37, "camel": 21, "donut": 39, "flower": 26, "hand": 29, "leaf": 32,
                                  "pants": 34, "pear": 40, "sheep": 23, "shorts": 30, "van": 18}
    assert set(raw.info["formats"].values()) == {"quickdraw-raw"}
    # raw first, then simplified: the 262 shared drawings are kept once, from the raw files
    both = sources.load_labelled([sources.packaged_quickdraw("raw"), sources.packaged_quickdraw("simplified")])
    assert sum(both.info["duplicates_skipped"].values()) == 262
    assert sum(both.info["counts"].values()) == 329 + 275 - 262
    assert both.info["counts"]["camel"] == 25 and both.info["duplicates_skipped"]["camel"] == 21
    for cls in CLASSES:
        np.testing.assert_array_equal(both.pool[cls][0], raw.pool[cls][0])
        assert len(both.sources[cls]) == 2


def npz(path, n=(3, 2, 2)):
    sketch = np.array([(1, 2, 0), (3, -1, 1)], np.int16)
    splits = {}
    for split, k in zip(("train", "valid", "test"), n):
        splits[split] = np.empty(k + 1, dtype=object)
        splits[split][:] = [sketch] * k + [sketch[:1]]
    np.savez(path, **splits)
    return str(path)


def write_ndjson(path, rows):
    with open(path, "w") as f:
        f.write("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return str(path)


def drawing(word="cat", key="1", strokes=(((0, 10), (0, 5)),)):
    return {"word": word, "key_id": key, "drawing": [list(map(list, s)) for s in strokes]}


def test_load_labelled_mixes_npz_and_pool(tmp_path):
    cat = npz(tmp_path / "cat.npz")
    apple = os.path.join(sources.packaged_quickdraw("simplified"), "apple.ndjson")
    got = sources.load_labelled([apple, cat])
    assert got.classes == ("apple", "cat")
    assert sorted(got.predefined["cat"]) == ["test", "train", "valid"]
    assert [len(got.predefined["cat"][s]) for s in ("train", "valid", "test")] == [4, 3, 3]
    assert got.info["counts"] == {"apple": 25, "cat": 10}
    assert got.info["formats"] == {apple: "quickdraw-simplified", cat: "sketch-rnn-npz"}
    assert list(got.pool) == ["apple"]
    # simplified drawings are taken as they are: their stroke-3 is their points
    first = json.loads(open(apple).readline())["drawing"]
    np.testing.assert_array_equal(got.pool["apple"][0], lines_to_stroke3([np.array(s).T for s in first]))


@pytest.mark.parametrize("rows, message", [
    ([drawing(), "{not json"], r"line 2: not valid JSON"),
    ([drawing(strokes=(((0, 1, 2), (0, 1)),))], r"line 1: stroke 0 has x, y of different lengths"),
    ([drawing(strokes=(((0, 1), (0, 1), (0, 1, 2)),))], r"line 1: stroke 0 has x, y, t of different lengths"),
    ([drawing(), drawing(word="dog", key="2")], r"line 2: word 'dog' differs from 'cat'"),
    ([{"word": "cat", "key_id": "1"}], r"line 1: missing 'drawing'"),
    ([drawing(), '{"word": "cat", "key_id": "2", "drawing": [[[0, NaN], [0, 1]]]}'], r"line 2: .*NaN"),
    ([drawing(strokes=(((0, 300), (0, 1)),))], r"line 1: .*integers in 0\.\.255"),
    ([drawing(), drawing(key="2", strokes=(((0, 1), (0, 1), (0, 1)),))], r"line 2: raw strokes in a file of "),
    ([""], r"no drawings"),
])
def test_bad_ndjson_gives_one_error_naming_file_and_line(tmp_path, rows, message):
    path = write_ndjson(tmp_path / "cat.ndjson", rows)
    with pytest.raises(ValueError, match=re.escape(path) + ".*" + message):
        sources.read_ndjson(path)
    with pytest.raises(ValueError, match=re.escape(path)):
        sources.load_labelled([path, os.path.join(sources.packaged_quickdraw("raw"), "apple.ndjson")])


def test_bad_omniglot_member_names_archive_and_member(tmp_path):
    archive = make_zip(tmp_path / "bad.zip", {"Alpha/c1/a1.txt": ALPHA, "Alpha/c1/a2.txt": "START\n1,oops,3\n"})
    with pytest.raises(ValueError, match=re.escape(f"{archive}: strokes_small/Alpha/c1/a2.txt, line 2")):
        sources.read_omniglot(archive)
    # damaged compressed data (a zlib error, not only a bad checksum) is named too
    damaged = tmp_path / "damaged.zip"
    text = "START\n" + "".join(f"{i % 97},{-(i * 7 % 89)},{i}\n" for i in range(3000)) + "BREAK\n"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("root/Alpha/c1/a1.txt", text)
        z.writestr("root/Beta/c1/b1.txt", text)
    raw = bytearray(damaged.read_bytes())
    with zipfile.ZipFile(damaged) as z:
        info = z.getinfo("root/Alpha/c1/a1.txt")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 20, start + 60):
        raw[k] ^= 0x5A
    damaged.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=re.escape(f"{damaged}: root/Alpha/c1/a1.txt: cannot read the stroke file")):
        sources.load_labelled([damaged])
    not_zip = tmp_path / "fake.zip"
    not_zip.write_text("hello")
    with pytest.raises(ValueError, match=re.escape(str(not_zip)) + ": not a zip archive"):
        sources.load_labelled([not_zip])


def test_input_errors_name_the_input(tmp_path):
    apple = os.path.join(sources.packaged_quickdraw("raw"), "apple.ndjson")
    missing = str(tmp_path / "nothing.ndjson")
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        sources.load_labelled([apple, missing])
    unknown = tmp_path / "notes.txt"
    unknown.write_text("x")
    with pytest.raises(ValueError, match=re.escape(str(unknown)) + ": unknown kind of input '.txt'"):
        sources.load_labelled([apple, unknown])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(ValueError, match=re.escape(str(empty_dir)) + ": a directory with no"):
        sources.load_labelled([empty_dir])
    with pytest.raises(ValueError, match="a classifier needs at least two classes.*apple"):
        sources.load_labelled([apple])
    # a raw and a simplified apple are still one class
    with pytest.raises(ValueError, match="at least two classes"):
        sources.load_labelled([apple, os.path.join(sources.packaged_quickdraw("simplified"), "apple.ndjson")])
    both = npz(tmp_path / "apple.npz")
    with pytest.raises(ValueError, match=r"class 'apple' is both in a sketch-rnn \.npz.*" + re.escape(both)):
        sources.load_labelled([apple, both, os.path.join(sources.packaged_quickdraw("raw"), "pear.ndjson")])
    with pytest.raises(ValueError, match="kind must be"):
        sources.packaged_quickdraw("svg")


def test_packaged_quickdraw_is_a_copy_of_the_shared_files():
    for kind in ("raw", "simplified"):
        names = sorted(os.listdir(sources.packaged_quickdraw(kind)))
        assert names == [f"{c}.ndjson" for c in sorted(CLASSES)]
        shared = os.path.join(SHARED, "quickdraw", kind)
        if os.path.isdir(shared):
            for name in names:
                with open(os.path.join(shared, name), "rb") as a, \
                        open(os.path.join(sources.packaged_quickdraw(kind), name), "rb") as b:
                    assert a.read() == b.read(), name
    assert "CC BY 4.0" in open(os.path.join(os.path.dirname(strokes.__file__), "data", "LICENSE.md")).read()
