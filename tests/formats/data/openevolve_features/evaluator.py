"""Knapsack instances: value_ratio (value found / best value) and feasible (share of choices
within capacity) are the score's average; items_used is a MAP-Elites feature, reported for
the grid and left out of the score (config.yaml names it in database.feature_dimensions)."""

import importlib.util
import random


def _instances():
    rng = random.Random(3)
    return [[(rng.randint(5, 30), rng.randint(1, 40)) for _ in range(12)] for _ in range(8)]


def _best(items, capacity):
    table = [0] * (capacity + 1)
    for weight, value in items:
        for room in range(capacity, weight - 1, -1):
            table[room] = max(table[room], table[room - weight] + value)
    return table[capacity]


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ratios, feasible, used = [], 0, 0
    for items in _instances():
        chosen = sorted(set(module.choose(list(items), 50)))
        weight = sum(items[i][0] for i in chosen)
        value = sum(items[i][1] for i in chosen)
        ok = weight <= 50
        feasible += ok
        used += len(chosen)
        ratios.append(value / _best(items, 50) if ok else 0.0)
    count = len(ratios)
    return {
        "value_ratio": sum(ratios) / count,
        "feasible": feasible / count,
        "items_used": used / count,
    }
