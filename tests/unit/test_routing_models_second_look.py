"""The shipped model's second look on mentions written for this test (English and Italian, none from
the corpus): the refined labels are right on most of them, the band spares the mentions the model is
sure of, and those keep the n-gram model's answer exactly."""
from __future__ import annotations

import numpy as np
import pytest

from routing_models.encoder_use import MultilingualEncoder, default_model_dir
from routing_models.registry import default_artifact_path, load
from tests.conftest import IN_CI

HELD_OUT = [
    ("The replacement charger you sent last week stopped working, still no reply to ticket 5521", "customer_care"),
    ("I was billed twice for my subscription this month, can someone from support sort it out?", "customer_care"),
    ("Ho cambiato piano tre giorni fa e la fibra non va ancora, nessuno risponde al numero verde", "customer_care"),
    ("Il pacco risulta consegnato ma a casa non è arrivato niente, come recupero il rimborso?", "customer_care"),
    ("Honestly the new autumn flavours are the best thing they've launched in years", "marketing"),
    ("Does the limited edition come in blue, and is it cheaper on the website than in store?", "marketing"),
    ("Che bella la nuova campagna con i vecchi spot degli anni 80, mi ha fatto sorridere", "marketing"),
    ("Meglio questa macchinetta o quella della concorrenza? Sono indeciso, il prezzo è simile", "marketing"),
    ("We're hiring warehouse shift leads in Leeds, apply through our careers page before Friday", "hr"),
    ("Had my second-round interview there today, the recruiter said I'd hear back within a week", "hr"),
    ("Cerchiamo uno sviluppatore backend per la sede di Torino, contratto a tempo indeterminato", "hr"),
    ("Lavoro lì da due anni: stipendio nella media, ma i turni del weekend cambiano sempre all'ultimo", "hr"),
    ("Shares slid 6% after the company cut its full-year revenue forecast and named a new CFO", "pr"),
    ("Regulators open an investigation into the retailer's handling of customer data", "pr"),
    ("L'azienda annuncia l'acquisizione di un concorrente tedesco per 300 milioni di euro", "pr"),
    ("Sciopero nei magazzini del gruppo: i sindacati denunciano ritmi insostenibili", "pr"),
]


@pytest.fixture(scope="module")
def encoder() -> MultilingualEncoder:
    if default_model_dir() is None:
        if IN_CI:
            pytest.fail("the sentence encoder's package is not installed but CI=true")
        pytest.skip("sentence encoder not installed")
    return MultilingualEncoder.load()


def test_refined_labels_on_held_out_mentions(encoder: MultilingualEncoder) -> None:
    clf = load(default_artifact_path())
    assert clf.refiner is not None and clf.refiner["band"] == 0.95
    texts = [t for t, _ in HELD_OUT]
    want = np.array([label for _, label in HELD_OUT])
    labels = np.array(clf.labels)
    fast = clf.predict_proba(texts)
    refined = clf.refined_proba(texts, encoder)
    assert (labels[refined.argmax(axis=1)] == want).sum() >= 13, list(zip(texts, labels[refined.argmax(axis=1)],
                                                                       strict=True))
    italian = slice(2, None, 4), slice(3, None, 4)
    it_right = sum(int((labels[refined[s].argmax(axis=1)] == want[s]).sum()) for s in italian)
    assert it_right >= 6  # of the 8 Italian rows
    sure = fast.max(axis=1) >= 0.95
    np.testing.assert_allclose(refined[sure], fast[sure])
    assert not np.allclose(refined[~sure], fast[~sure])  # the others really were looked at again
