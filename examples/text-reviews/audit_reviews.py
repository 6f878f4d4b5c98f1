"""Train a TF-IDF + logistic regression classifier of review sentiment and audit it by review length.

Run from the repository root:  python examples/text-reviews/audit_reviews.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import audit

HERE = Path(__file__).resolve().parent


def train_model() -> Pipeline:
    """TF-IDF of words and word pairs of the `review` column, then a logistic regression."""
    train = pd.read_csv(HERE / "data" / "training.csv.gz")
    text = ColumnTransformer([("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "review")])
    model = Pipeline([("text", text), ("model", LogisticRegression(C=4.0, max_iter=1000))])
    return model.fit(train[["review"]], train["score"])


def main(out: str = "reports") -> int:
    result = audit.run(HERE / "audit.yaml", model=train_model())
    for path in result.write(out).paths():
        print(f"wrote {path}")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
