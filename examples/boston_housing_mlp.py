"""Boston housing with Chollet's MLP and 4-fold cross-validation (Deep Learning with Python,
section 3.6), in gradkit's Keras dialect; target: mean validation MAE ≤ 2.7 (thousand dollars)
in 2 minutes.

Chollet's recipe as the book writes it: features standardised with the training split's mean
and standard deviation, Dense(64, relu) - Dense(64, relu) - Dense(1), RMSprop, MSE loss, MAE
metric; K = 4 folds of the 404 training houses, 100 epochs of batch 1 per fold (the book's mean
of the four validation MAEs: 2.73); then a fresh model trained on all 404 for 80 epochs, batch
16, and evaluated on the 102 test houses (the book: 2.55).

    python examples/boston_housing_mlp.py
Needs: the Boston housing file in $GRADKIT_DATA/boston_housing (shared/data).
"""
import os
import time

import numpy as np

import reproduce

BUDGET, EPOCHS, FOLDS, TARGET = 2, 100, 4, 2.7


def build_model(keras, features):
    model = keras.Sequential([keras.layers.Input(shape=(features,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model


def main():
    args = reproduce.parser(__doc__, BUDGET, EPOCHS, peer=False).parse_args()
    import gradkit
    from gradkit import datasets, keras

    start = time.perf_counter()
    gradkit.manual_seed(args.seed)
    x, y = datasets.boston_housing("train")
    xt, yt = datasets.boston_housing("test")
    mean, std = x.mean(0), x.std(0)
    x, xt = (x - mean) / std, (xt - mean) / std
    fold = len(x) // FOLDS
    scores, curves = [], []
    for i in range(FOLDS):
        val = slice(i * fold, (i + 1) * fold)
        keep = np.r_[0:i * fold, (i + 1) * fold:len(x)]
        model = build_model(keras, x.shape[1])
        history = model.fit(x[keep], y[keep], validation_data=(x[val], y[val]),
                            epochs=args.epochs, batch_size=1, verbose=0)
        curves.append(history.history["val_mae"])
        scores.append(history.history["val_mae"][-1])
        print(f"fold {i + 1}: validation MAE {scores[-1]:.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    cv_seconds = time.perf_counter() - start
    curve = np.mean(curves, axis=0)
    final = build_model(keras, x.shape[1])
    final.fit(x, y, epochs=80, batch_size=16, verbose=0)
    test_mse, test_mae = final.evaluate(xt, yt, verbose=0)
    seconds = time.perf_counter() - start
    mean_mae = float(np.mean(scores))
    rows = [[f"fold {i + 1}", f"{s:.3f}"] for i, s in enumerate(scores)]
    rows += [["mean of the folds (epoch 100)", reproduce.verdict(mean_mae, TARGET, False)],
             ["best epoch of the mean curve",
              f"{curve.min():.3f} at epoch {int(curve.argmin()) + 1}"],
             ["test MAE, trained on all 404 for 80 epochs", f"{test_mae:.3f}"],
             ["time", f"{seconds / 60:.1f} min (budget {args.budget_min:g}: "
                      f"{'met' if seconds <= args.budget_min * 60 else 'MISSED'}; load "
                      f"{os.getloadavg()[2]:.1f}; cross-validation "
                      f"{cv_seconds:.0f} s)"]]
    body = ("Published figure: Chollet, *Deep Learning with Python* (3.6): mean validation MAE "
            "2.73 over the four folds at 100 epochs, ≈ 2.5 at the best epoch; test MAE 2.55.\n\n"
            + reproduce.markdown_table(["", "MAE (thousand dollars)"], rows))
    print(body)
    if not args.no_record:
        reproduce.record("boston_housing_mlp", "Boston housing, 4-fold cross-validation "
                         "(Chollet's MLP, Keras dialect)", body, seconds)


if __name__ == "__main__":
    main()
