#!/usr/bin/env python3
"""Logistic regression by stochastic gradient descent on synthetic data: a ModelTrail job example.

Pure Python, no dependencies. It generates a seeded two-class data set, trains for a few epochs,
reports parameters, loss and accuracy at every step through the ModelTrail helper, writes the
model to the output directory and names it as an artifact.

    python3 examples/training/train.py --epochs 5 --steps-per-epoch 50 --step-delay 0.01

It finds the helper (sdk/python/modeltrail.py) relative to this file, so it runs from any working
directory, inside the platform or not (outside, the output directory is ./outputs).
"""

import argparse
import json
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))

import modeltrail as mt  # noqa: E402


def make_data(n, features, rng):
    """Points around two centres; the label is 1 when w_true . x + b_true > 0 (with some noise)."""
    w_true = [rng.uniform(-2, 2) for _ in range(features)]
    b_true = rng.uniform(-0.5, 0.5)
    rows = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(features)]
        z = sum(w * v for w, v in zip(w_true, x)) + b_true + rng.gauss(0, 0.3)
        rows.append((x, 1 if z > 0 else 0))
    return rows


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def evaluate(weights, bias, rows):
    loss = 0.0
    correct = 0
    for x, y in rows:
        p = sigmoid(sum(w * v for w, v in zip(weights, x)) + bias)
        p = min(max(p, 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += int((p >= 0.5) == (y == 1))
    return loss / len(rows), correct / len(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps-per-epoch", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--features", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--step-delay", type=float, default=0.01, help="seconds to sleep per step (default 0.01: the default run lasts about 3 s); 0 for none")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.steps_per_epoch < 1 or args.batch_size < 1:
        parser.error("--epochs, --steps-per-epoch and --batch-size must be at least 1")

    rng = random.Random(args.seed)
    rows = make_data(args.samples, args.features, rng)
    split = int(len(rows) * 0.8)
    train, valid = rows[:split], rows[split:]

    mt.log_params({
        "model": "logistic-regression",
        "optimizer": "sgd",
        "lr": args.lr,
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "batch_size": args.batch_size,
        "samples": args.samples,
        "features": args.features,
        "seed": args.seed,
    })
    print("training on %d rows, validating on %d" % (len(train), len(valid)), flush=True)

    weights = [0.0] * args.features
    bias = 0.0
    step = 0
    for epoch in range(args.epochs):
        mt.log_status("epoch %d of %d" % (epoch + 1, args.epochs))
        for _ in range(args.steps_per_epoch):
            batch = [train[rng.randrange(len(train))] for _ in range(args.batch_size)]
            grad_w = [0.0] * args.features
            grad_b = 0.0
            batch_loss = 0.0
            correct = 0
            for x, y in batch:
                p = sigmoid(sum(w * v for w, v in zip(weights, x)) + bias)
                pc = min(max(p, 1e-12), 1 - 1e-12)
                batch_loss -= y * math.log(pc) + (1 - y) * math.log(1 - pc)
                correct += int((p >= 0.5) == (y == 1))
                for i, v in enumerate(x):
                    grad_w[i] += (p - y) * v
                grad_b += p - y
            weights = [w - args.lr * g / len(batch) for w, g in zip(weights, grad_w)]
            bias -= args.lr * grad_b / len(batch)
            mt.log_metrics({"train/loss": batch_loss / len(batch), "train/accuracy": correct / len(batch)}, step=step)
            step += 1
            if args.step_delay > 0:
                time.sleep(args.step_delay)
        val_loss, val_acc = evaluate(weights, bias, valid)
        mt.log_metrics({"val/loss": val_loss, "val/accuracy": val_acc, "epoch": epoch + 1}, step=step - 1)
        print("epoch %d: val loss %.4f, val accuracy %.3f" % (epoch + 1, val_loss, val_acc), flush=True)

    model_path = os.path.join(mt.output_dir(), "model.json")
    with open(model_path, "w") as f:
        json.dump({"type": "logistic-regression", "weights": weights, "bias": bias, "features": args.features}, f, indent=2)
        f.write("\n")
    mt.log_artifact(model_path, name="model")
    print("model written to %s" % model_path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
