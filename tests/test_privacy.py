import json
import re
import subprocess
import sys

import pytest

from redditess.config import DemoConfig
from redditess.privacy import KEEP_FIELDS, anonymize, pseudonym, salt_fingerprint, salt_from_env, scrub
from redditess.runtime import InputError
from redditess.sources.demo import simulate
from redditess.takedown import comment_cycles, load_takedown, removed_comments

from conftest import ROOT, copy_pipeline, output_text, run_stage, stage_env, write_params

sys.path.insert(0, str(ROOT / "benchmarks"))
import pii_benchmark  # noqa: E402


def test_scrub_removes_contact_details_and_handles():
    text = ("mail me at jo.doe@example.com or call +1 555-123-4567 / 07700 900123, see https://instagram.com/jo_d, "
            "ask u/SomeUser or /u/other_one, tweet @handle, I live at 42 Elm Street, my IP is 10.0.0.7")
    out = scrub(text)
    for leak in ("jo.doe@example.com", "555-123-4567", "07700 900123", "instagram.com/jo_d", "SomeUser", "other_one",
                 "@handle", "42 Elm Street", "10.0.0.7"):
        assert leak not in out, (leak, out)
    for placeholder in ("{{EMAIL}}", "{{PHONE}}", "{{URL}}", "{{USERNAME}}", "{{HANDLE}}", "{{ADDRESS}}", "{{IP}}"):
        assert placeholder in out
    for clean in ("I slept 8 hours on 2020-01-03 and it helped a lot.", "I can't sleep at night.", "Look at this.",
                  "Call 1-800-273-8255 or text 741741, or dial 988.", "See https://www.nimh.nih.gov/health for more."):
        assert scrub(clean) == clean


def test_invisible_and_full_width_characters_do_not_hide_pii_and_controls_are_stripped():
    assert scrub("ask u\u200b/hidden_name") == "ask {{USERNAME}}"
    assert scrub("mail\u200b@example.com") == "{{EMAIL}}"
    assert scrub("ｍａｉｌ＠ｅｘａｍｐｌｅ.com is me") == "{{EMAIL}} is me"
    assert scrub("\x1b[31mred\x1b[0m text\x07 \u202eok") == "red text ok"
    assert scrub("family 👨\u200d👩\u200d👧") == "family 👨\u200d👩\u200d👧"  # emoji joiners stay


def test_pii_benchmark_recall_and_damage_per_kind():
    """The README's table: recall >= 0.98 per planted kind, no clean sentence changed."""
    res = pii_benchmark.run()
    assert set(res.total) >= {"EMAIL", "PHONE", "ADDRESS", "POSTCODE", "IP", "DOB", "USERNAME", "HANDLE", "URL", "NAME",
                              "NAME_INTRO", "NAME_SIGN_OFF", "NAME_OTHER", "SSN", "SUBREDDIT"}
    low = {k: round(res.recall(k), 3) for k in res.total if res.recall(k) < 0.98 and k != "NAME_UNCOVERED"}
    assert not low, (low, {k: res.missed[k][:3] for k in low})
    assert not res.clean_changed, res.clean_changed


@pytest.mark.slow
def test_planted_identifiers_through_collect_and_threads(tmp_path):
    """The issue's goal, through the real stages: at most 5% of the planted identifiers survive
    collect -> threads, and no clean control is changed."""
    res = pii_benchmark.run_pipeline(tmp_path)
    left, planted = res.surviving()
    assert planted > 800 and not res.units_lost
    assert left <= 0.05 * planted, {k: v[:2] for k, v in res.missed.items() if k != "NAME_UNCOVERED"}
    assert not res.clean_damaged, res.clean_damaged[:3]


def test_the_committed_benchmark_output_is_the_benchmarks_own():
    """benchmarks/pii_benchmark.json holds the figures this code gives on the planted sentences."""
    committed = json.loads((ROOT / "benchmarks/pii_benchmark.json").read_text())
    assert committed["sentences"] == pii_benchmark.summary(pii_benchmark.run(), None)["sentences"]
    assert committed["pipeline"]["clean_controls_damaged"] == 0
    assert committed["pipeline"]["surviving_share"] <= 0.05


def test_names_in_self_introductions_sign_offs_and_relations_in_forms_not_planted():
    """Sentences written for this test (not the benchmark's templates): the context patterns and the
    name list generalise; a word that is no name after "I'm" stays."""
    for text, name in [("Hello all, I am Rachel and I have struggled for years.", "Rachel"),
                       ("I'm Ahmed, 31/M, from a small town.", "Ahmed"), ("Im Lucas and i need help", "Lucas"),
                       ("You can call me Nina.", "Nina"), ("I go by Alex online.", "Alex"),
                       ("Okay so I'm Kayla (22f) and my boyfriend Marcus left.", "Marcus"),
                       ("Hey guys, Natalie here, back again.", "Natalie"), ("Much love,\nTanya\n\nEdit: wow thank you", "Tanya"),
                       ("thanks everyone - Zoe", "Zoe"), ("my ex, Derek, keeps texting me", "Derek"),
                       ("I'm Mark, 35M.", "Mark"), ("Sorry I'm rambling.\n\nJustin", "Justin")]:
        out = scrub(text)
        assert name not in out and "{{NAME}}" in out, (text, out)
    for text in ["I'm Still here.", "I'm Fine.", "I'm Done.", "I'm Lost", "I'm Alone", "I'm Ugly", "I'm Trans and scared",
                 "I'm Gay and my parents hate me", "I'm Sorry", "I'm so sorry", "I'm not sure", "thanks, I'll try",
                 "Mom here, my son is struggling.", "This is my first post.", "It's me again."]:
        assert scrub(text) == text, text


def test_spaced_ssns_and_small_subreddits():
    assert scrub("SSN 123 45 6789 was stolen") == "SSN {{SSN}} was stolen"
    assert scrub("my social is 219.09.9999") == "my social is {{SSN}}"
    assert scrub("ssn: 219099999") == "ssn: {{SSN}}"
    assert scrub("my score was 900 12 3456 points") == "my score was 900 12 3456 points"  # no SSA area 9xx
    assert scrub("I go to r/uofmichigan and r/depression") == "I go to {{SUBREDDIT}} and r/depression"
    assert scrub("I live near https://reddit.com/r/Bozeman lol") == "I live near {{SUBREDDIT}} lol"
    # a link to a post or comment leads to its author
    assert scrub("see https://www.reddit.com/r/depression/comments/abc123/title/") == "see {{URL}}"
    assert scrub("see https://www.reddit.com/r/depression/wiki/index") == "see https://www.reddit.com/r/depression/wiki/index"
    # the record's own subreddit, and the study's, may be named
    assert scrub("new to r/Keene, hi", subreddit="Keene") == "new to r/Keene, hi"
    from redditess.config import PrivacyConfig
    from redditess.privacy import policy_from_config

    assert scrub("r/Keene rocks", policy_from_config(PrivacyConfig(), ["keene"])) == "r/Keene rocks"


def test_subreddit_sizes_file_widens_the_public_list_and_bad_lines_name_the_line(tmp_path):
    from redditess.config import PrivacyConfig
    from redditess.privacy import policy_from_config

    sizes = tmp_path / "sizes.tsv"
    sizes.write_text("subreddit\tsubscribers\nr/Houston\t500000\nKeene\t800\n")
    policy = policy_from_config(PrivacyConfig(subreddit_sizes=str(sizes), min_subscribers=100000))
    assert scrub("r/houston and r/keene", policy) == "r/houston and {{SUBREDDIT}}"
    sizes.write_text("Keene\tmany\n")
    with pytest.raises(InputError, match=r"sizes.tsv:1: expected 'subreddit<TAB>subscribers'"):
        policy_from_config(PrivacyConfig(subreddit_sizes=str(sizes)))
    with pytest.raises(InputError, match="name_locales: Faker has no person provider 'xx_YY'"):
        scrub("I'm Sam", policy_from_config(PrivacyConfig(name_locales=["xx_YY"])))


def test_the_demo_simulators_own_text_is_never_replaced():
    """Every title, body and reply the demo simulator writes holds no personal data: the scrubber
    must leave all of it as it is ("I'm so sorry", "I'm not sure", ... are no names)."""
    out = simulate(DemoConfig(n_threads=300), 20240917)
    texts = [r[k] for r in out.submissions + out.comments for k in ("title", "selftext", "body") if isinstance(r.get(k), str)]
    assert len(texts) > 2000
    changed = [(t, scrub(t)) for t in texts if scrub(t) != t]
    assert not changed, changed[:5]


def test_scrubber_changes_at_most_half_a_percent_of_real_texts(shared_data):
    """Fixed-pattern kinds (contact details, numbers, handles) change at most 0.5% of real texts. Names,
    small subreddits and links to posts are counted apart (benchmarks/pii_benchmark.md): real texts do
    hold them, and the hits were read by hand when the detector was built."""
    res = pii_benchmark.run(shared_data)
    assert res.real_total > 10000
    fixed = [out for _, out in res.real_changed if re.search(r"\{\{(?!NAME|SUBREDDIT|URL)[A-Z]+\}\}", out)]
    assert len(fixed) <= 0.005 * res.real_total, len(fixed)
    assert len(res.real_changed) <= 0.02 * res.real_total, len(res.real_changed)


def test_pseudonyms_are_keyed_stable_and_keep_deleted():
    assert pseudonym("alice", "k1") == pseudonym("alice", "k1") != pseudonym("alice", "k2")
    assert pseudonym("alice", "k1").startswith("u_") and "alice" not in pseudonym("alice", "k1")
    assert pseudonym("[deleted]", "k1") == pseudonym(None, "k1") == "[deleted]"


def test_real_data_needs_a_salt_from_the_environment(monkeypatch):
    monkeypatch.delenv("REDDITESS_SALT", raising=False)
    with pytest.raises(InputError, match="REDDITESS_SALT is not set"):
        salt_from_env("REDDITESS_SALT", "dump")
    assert salt_from_env("REDDITESS_SALT", "demo")
    monkeypatch.setenv("REDDITESS_SALT", "k" * 16)
    assert salt_from_env("REDDITESS_SALT", "dump") == "k" * 16
    monkeypatch.setenv("REDDITESS_SALT", "1")
    with pytest.raises(InputError, match="REDDITESS_SALT is 1 bytes: real data needs a secret salt of at least 16"):
        salt_from_env("REDDITESS_SALT", "dump")
    assert salt_from_env("REDDITESS_SALT", "demo") == "1"  # simulated authors: any salt will do


def test_anonymize_keeps_only_the_fields_the_study_needs():
    rec = {"id": "a", "author": "bob", "body": "hi bob@x.com", "permalink": "/r/x/comments/a/bob", "url": "https://x",
           "author_flair_text": "Bob Smith", "score": 3}
    out = anonymize(rec, "s", True)
    assert set(out) <= KEEP_FIELDS and out["author"] == pseudonym("bob", "s") and out["body"] == "hi {{EMAIL}}"
    flair = anonymize({"id": "p", "title": "t", "link_flair_text": "call me on 07700 900123"}, "s", True)
    assert flair["link_flair_text"] == "call me on {{PHONE}}"
    ansi = anonymize({"id": "p", "subreddit": "dep\x1b[2Jression", "body": "ok\x1b]0;pwned\x07 fine"}, "s", False)
    assert (ansi["subreddit"], ansi["body"]) == ("depression", "ok fine")


def test_takedown_removes_posts_comments_and_their_replies(tmp_path):
    (tmp_path / "t.txt").write_text("# ids\nt3_p1\nc5  # a comment\n")
    ids = load_takedown(tmp_path / "t.txt")
    assert ids == {"p1", "c5"}
    comments = [
        {"id": "c1", "link_id": "t3_p1", "parent_id": "t3_p1"}, {"id": "c2", "link_id": "t3_p1", "parent_id": "t1_c1"},
        {"id": "c5", "link_id": "t3_p2", "parent_id": "t3_p2"}, {"id": "c6", "link_id": "t3_p2", "parent_id": "t1_c5"},
        {"id": "c7", "link_id": "t3_p2", "parent_id": "t1_c6"}, {"id": "c8", "link_id": "t3_p2", "parent_id": "t3_p2"},
    ]
    assert removed_comments(comments, ids) == {"c1", "c2", "c5", "c6", "c7"}
    (tmp_path / "bad.txt").write_text("t3_ok\nnot an id!\n")
    with pytest.raises(InputError, match="bad.txt:2: not a Reddit id"):
        load_takedown(tmp_path / "bad.txt")


def _planted(i: int) -> str:
    return [f"plant{i}@mailhost{i}.com", f"+44 7700 9{i:05d}", f"https://instagram.com/planted.user{i}",
            f"u/planted_user_{i}", f"@planted{i}", f"{i + 1} Planted Street", f"10.{i % 200}.{i % 7}.{i % 250 + 1}",
            f"planted{i}#{1000 + i}"][i % 8]


def test_pii_planted_in_1000_records_reaches_no_output(tmp_path, monkeypatch):
    out = simulate(DemoConfig(n_threads=150), 5)
    records = out.submissions + out.comments
    assert len(records) >= 1000
    planted = []
    for i, rec in enumerate(records[:1000]):
        secret = _planted(i)
        field = "selftext" if "title" in rec else "body"
        if rec[field] not in ("[deleted]", "[removed]"):
            rec[field] = f"{rec[field]} Reach me: {secret} anytime."
            planted.append(secret)
        if rec["author"] not in ("[deleted]", "AutoModerator"):
            planted.append(rec["author"])
    repo = copy_pipeline(tmp_path / "repo")
    (repo / "dumps").mkdir(exist_ok=True)
    (repo / "dumps/RS_plant.ndjson").write_text("".join(json.dumps(s) + "\n" for s in out.submissions))
    (repo / "dumps/RC_plant.ndjson").write_text("".join(json.dumps(c) + "\n" for c in out.comments))
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": ["dumps/R*.ndjson"]}}, "agreement": {"bootstrap": 20}})
    monkeypatch.setenv("REDDITESS_SALT", "pii-test-salt-0123456789")
    for stage, *args in (("collect",), ("threads",), ("label", "general_feedback"), ("label", "community"),
                         ("label", "op_reply"), ("aggregate",), ("agreement",), ("split",), ("datacard",)):
        run_stage(repo, stage, *args)
    text = output_text(repo)
    assert len(planted) > 1500
    leaks = [p for p in planted if p in text]
    assert not leaks, f"{len(leaks)} planted strings leaked, e.g. {leaks[:5]}"
    assert "{{EMAIL}}" in text and "pii-test-salt-0123456789" not in text


def test_threads_stops_when_the_salt_differs_from_collects(tmp_path, monkeypatch):
    out = simulate(DemoConfig(n_threads=20), 3)
    repo = copy_pipeline(tmp_path / "repo")
    (repo / "dumps").mkdir(exist_ok=True)
    (repo / "dumps/RS_s.ndjson").write_text("".join(json.dumps(s) + "\n" for s in out.submissions))
    (repo / "dumps/RC_s.ndjson").write_text("".join(json.dumps(c) + "\n" for c in out.comments))
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": ["dumps/R*.ndjson"]}}})
    monkeypatch.setenv("REDDITESS_SALT", "the-salt-collect-used-0123")
    run_stage(repo, "collect")
    report = json.loads((repo / "data/raw/report.json").read_text())
    assert report["salt_fingerprint"] == salt_fingerprint("the-salt-collect-used-0123")
    assert "the-salt-collect-used" not in (repo / "data/raw/report.json").read_text()
    monkeypatch.setenv("REDDITESS_SALT", "another-salt-at-threads-0123")
    proc = run_stage(repo, "threads", check=False)
    assert proc.returncode == 2 and not (repo / "data/threads.parquet").exists()
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: REDDITESS_SALT differs from the salt collect used (data/raw/report.json")
    monkeypatch.setenv("REDDITESS_SALT", "the-salt-collect-used-0123")
    run_stage(repo, "threads")


def test_parent_cycles_are_found_and_never_hang_a_takedown():
    comments = [
        {"id": "c1", "link_id": "t3_p1", "parent_id": "t3_p1"}, {"id": "c2", "link_id": "t3_p1", "parent_id": "t1_c1"},
        {"id": "self", "link_id": "t3_p1", "parent_id": "t1_self"},  # its own parent
        {"id": "a", "link_id": "t3_p1", "parent_id": "t1_b"}, {"id": "b", "link_id": "t3_p1", "parent_id": "t1_a"},
        {"id": "under", "link_id": "t3_p1", "parent_id": "t1_a"},  # hangs off the cycle, not on it
    ]
    assert comment_cycles(comments) == {"self", "a", "b"}
    assert removed_comments(comments, set()) == set()
    assert removed_comments(comments, {"zzz"}) == set()  # any takedown entry used to loop forever here
    assert removed_comments(comments, {"c1"}) == {"c1", "c2"}
    assert removed_comments(comments, {"a"}) == {"a", "b", "under"}


@pytest.mark.parametrize("takedown", ["", "t1_zzz\n"])
def test_collect_drops_cycles_in_bounded_time(tmp_path, monkeypatch, takedown):
    repo = copy_pipeline(tmp_path / "repo")
    (repo / "dumps").mkdir(exist_ok=True)
    post = {"id": "p1", "title": "t", "selftext": "s", "author": "x", "subreddit": "depression", "edited": True}
    comments = [dict(id="c1", link_id="t3_p1", parent_id="t3_p1", body="ok", author="y", subreddit="depression"),
                dict(id="self", link_id="t3_p1", parent_id="t1_self", body="me", author="y", subreddit="depression"),
                dict(id="a", link_id="t3_p1", parent_id="t1_b", body="a", author="y", subreddit="depression"),
                dict(id="b", link_id="t3_p1", parent_id="t1_a", body="b", author="y", subreddit="depression")]
    (repo / "dumps/RS_c.ndjson").write_text(json.dumps(post) + "\n")
    (repo / "dumps/RC_c.ndjson").write_text("".join(json.dumps(c) + "\n" for c in comments))
    (repo / "takedown.txt").write_text(takedown)
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": ["dumps/R*.ndjson"]}}})
    monkeypatch.setenv("REDDITESS_SALT", "cycle-test-salt-0123456789")
    proc = subprocess.run([sys.executable, "stages/collect.py"], cwd=repo, env=stage_env(repo), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads((repo / "data/raw/report.json").read_text())["counts"]
    assert counts["dropped_comment_cycle"] == 3 and counts["comments"] == 1 and counts["takedown_comments"] == 0
    assert not (repo / ".redditess-tmp").exists() or not any((repo / ".redditess-tmp").iterdir())


PRIVATE_PATHS = ["dumps/RC_2024-01.zst", "ledgers/gpt4o.jsonl", "annotation/sample.csv", "annotation/form.html",
                 ".cache/praw/journal.json", ".dvc/cache/files/md5/ab/cdef0123", ".dvc/config.local", ".dvc/tmp/lock",
                 ".redditess-tmp/collect/records.sqlite", "data/raw/RC.parquet", "data/votes/.op_reply.parquet.x1.tmp",
                 "models/sft/0/model.safetensors", ".env",
                 # the real profile's folder pipeline: its data, models and ledgers hold real text
                 "real/data/raw/RC.parquet", "real/models/sft/0/model.safetensors", "real/ledgers/second_judge.jsonl"]
# Results (counts, rates, reports) are committed to git, never pushed to the DVC remote: they go into
# the image too, or `dvc pull` there would leave every stage to re-run. dumps/ keeps its README (collect
# hashes the folder as a dependency; without it the entry point's first stage stops).
RESULTS = ["metrics/collect.json", "reports/threads.md", "plots/evaluate.csv", "real/metrics/threads.json", "real/dvc.lock"]
PUBLIC_PATHS = ["params.yaml", "dvc.yaml", "src/redditess/privacy.py", "stages/collect.py", "takedown.txt",
                "docker/entrypoint.sh", "requirements.txt", "pyproject.toml", "dumps/README.md", *RESULTS]


def test_docker_build_context_holds_no_private_path(tmp_path):
    """The context `docker build .` sends, computed with docker's own .dockerignore matcher."""
    from docker.utils.build import exclude_paths

    for rel in PRIVATE_PATHS + PUBLIC_PATHS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    context = exclude_paths(str(tmp_path), list(patterns), dockerfile="docker/Dockerfile.cpu")
    assert not [p for p in PRIVATE_PATHS if p in context]
    assert set(PUBLIC_PATHS) <= context
    real = exclude_paths(str(ROOT), list(patterns), dockerfile="docker/Dockerfile.cpu")
    private_roots = ("dumps/", "ledgers/", "annotation/", ".cache/", ".dvc/cache/", ".dvc/tmp/", ".redditess-tmp/",
                     "data/", "models/", ".git/", ".venv/", "real/data/", "real/models/", "real/ledgers/")
    assert not [p for p in real if (p.startswith(private_roots) and p != "dumps/README.md") or p in (".dvc/config.local", ".env")]
    assert {"dumps/README.md", "metrics/collect.json", "dvc.lock"} <= real


def test_git_ignores_every_private_path():
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *PRIVATE_PATHS],
                          cwd=ROOT, capture_output=True, text=True)
    not_ignored = [line.split("\t")[1] for line in proc.stdout.splitlines() if line.startswith("::")]
    assert not not_ignored
    proc = subprocess.run(["git", "check-ignore", "--no-index", *PUBLIC_PATHS], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout == ""


def test_scratch_stores_stay_in_the_workspace_and_are_removed_on_success_failure_and_after_a_kill(tmp_path, monkeypatch):
    repo = copy_pipeline(tmp_path / "repo")
    stale = repo / ".redditess-tmp/collect/records.sqlite"  # what a killed collect leaves behind
    stale.parent.mkdir(parents=True)
    stale.write_text("raw records")
    write_params(repo, {"collect": {"demo": {"n_threads": 5}}})
    run_stage(repo, "collect")
    assert not stale.parent.exists()
    (repo / "dumps").mkdir(exist_ok=True)
    (repo / "dumps/RC_x.ndjson").write_text(json.dumps({"id": "c1", "link_id": "t3_p", "parent_id": "t3_p"}) + "\n")
    write_params(repo, {"collect": {"source": "dump", "strict": True, "dump": {"paths": ["dumps/RC_*.ndjson"]}}})
    monkeypatch.setenv("REDDITESS_SALT", "scratch-test-salt-0123456789")
    (repo / "dumps/RC_x.ndjson").write_text('{"id": "c1", "body": 5}\n')
    proc = run_stage(repo, "collect", check=False)
    assert proc.returncode == 2 and "malformed record: field 'body' must be str" in proc.stderr
    assert not (repo / ".redditess-tmp/collect").exists()  # removed on failure too


def test_atomic_writes_remove_what_a_killed_run_left_inside_an_output_folder(tmp_path, monkeypatch):
    from redditess.io import write_text

    monkeypatch.chdir(tmp_path)
    leftover = tmp_path / "data/votes/.op_reply.parquet.k1ll3d.tmp"
    leftover.mkdir(parents=True)
    (leftover / "op_reply.parquet").write_text("half")
    write_text("data/votes/op_reply.parquet", "whole")
    assert sorted(p.name for p in (tmp_path / "data/votes").iterdir()) == ["op_reply.parquet"]
