import numpy as np
import pandas as pd

from redditess.config import DemoConfig, DimensionsConfig
from redditess.dimensions import contrasts, effectiveness_by_dimension, features, tag_dimensions
from redditess.sources.demo import simulate
from redditess.support import DIMENSIONS


def test_offline_tagger_finds_the_simulated_support_types():
    out = simulate(DemoConfig(n_threads=60), 2)
    bodies = {c["id"]: c["body"] for c in out.comments}
    truth = [t for t in out.truth if t["kind"] in ("support", "unhelpful") and bodies[t["comment_id"]] not in ("[deleted]", "[removed]")]
    tags = tag_dimensions([bodies[t["comment_id"]] for t in truth], DimensionsConfig().threshold)
    for d in DIMENSIONS:
        actual = np.array([d in t["dimensions"] for t in truth])
        predicted = tags[d].to_numpy()
        tp = (actual & predicted).sum()
        f1 = 2 * tp / (actual.sum() + predicted.sum())
        assert f1 > 0.6, (d, f1)


def test_contrasts_and_per_dimension_rates():
    texts = ["You are not alone, you can do this. Maybe try a walk?", "I don't care.", "You matter to me, thank you for sharing.", "lol"]
    label = np.array([1, 0, 1, 0], dtype=float)
    rows = {r["feature"]: r for r in contrasts(features(texts), label)}
    assert rows["second_person"]["cohens_d"] > 0 and rows["words"]["effective_mean"] > rows["words"]["ineffective_mean"]
    tags = pd.DataFrame({d: [d == "esteem", False, d == "esteem", False] for d in DIMENSIONS})
    rates = {r["dimension"]: r for r in effectiveness_by_dimension(tags, label, 50, np.random.default_rng(0))}
    assert rates["esteem"]["effective_rate"] == 1.0 and rates["esteem"]["effective_rate_without"] == 0.0
    assert rates["tangible"]["n"] == 0
