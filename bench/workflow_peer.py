"""The Python path that `vintner train` / `vintner infer` replace, for bench/workflow.sh.

train: `dvc pull` the data, grouped 5-fold CV + final fit of scikit-learn's ExtraTrees with the
same hyperparameters, log params/metrics/per-fold values to MLflow (sqlite), dump the model
under models/, `dvc add` + `dvc push` it.
infer: `dvc pull` the model, load it, predict on a CSV, write the predictions.
Run with the MLflow venv's python; DVC is called through $DVC.
"""
import os
import subprocess
import sys
import time

import joblib
import mlflow
import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error
from sklearn.model_selection import KFold

DVC = os.environ["DVC"]


def dvc(*args):
    subprocess.run([DVC, *args, "-q"], check=True)


def train(data, n_estimators, max_features, folds=5, seed=42):
    dvc("pull", data + ".dvc")
    df = pd.read_csv(data, sep=";")
    X, y = df.drop(columns=["quality"]).to_numpy(), df["quality"].to_numpy()
    groups = pd.DataFrame(X).groupby(list(range(X.shape[1])), sort=False).ngroup().to_numpy()
    uniq = np.unique(groups)
    params = dict(n_estimators=n_estimators, max_features=max_features, random_state=seed, n_jobs=2)
    mlflow.set_tracking_uri("sqlite:///mlflow-py.db")
    mlflow.set_experiment("bench-python")
    with mlflow.start_run():
        mlflow.log_params(params)
        rmses, maes = [], []
        for i, (_, test_g) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(uniq)):
            test = np.isin(groups, uniq[test_g])
            m = ExtraTreesRegressor(**params).fit(X[~test], y[~test])
            p = m.predict(X[test])
            rmses.append(mean_squared_error(y[test], p) ** 0.5)
            maes.append(mean_absolute_error(y[test], p))
            mlflow.log_metric("fold_rmse", rmses[-1], step=i)
        mlflow.log_metrics({"rmse": float(np.mean(rmses)), "mae": float(np.mean(maes))})
        model = ExtraTreesRegressor(**params).fit(X, y)
        os.makedirs("models/py", exist_ok=True)
        joblib.dump(model, "models/py/model.joblib")
        dvc("add", "models/py")
        dvc("push", "models/py.dvc")
        mlflow.set_tag("model.md5", open("models/py.dvc").read())


def infer(csv, out):
    dvc("pull", "models/py.dvc")
    model = joblib.load("models/py/model.joblib")
    df = pd.read_csv(csv, sep=";")
    X = df.drop(columns=["quality"], errors="ignore").to_numpy()
    pd.DataFrame({"prediction": model.predict(X)}).to_csv(out, index=False)


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        infer(sys.argv[2], sys.argv[3])
