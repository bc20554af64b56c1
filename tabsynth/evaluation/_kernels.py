"""Compiled loops behind the privacy evaluation (numba, which anonymeter already requires).

Compiled once per machine (about 15 s on the 2-core CPU; serial code: on two shared cores
threads bought nothing measurable and cost compile time): numba caches the machine code beside
this file, or in its user cache folder when that is read-only. The caches hold code only.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _offer(best_d: np.ndarray, best_i: np.ndarray, count: int, distance: float,
           row: int) -> int:
    """Insert (distance, row) into the sorted k-best lists when it beats the k-th; new count."""
    k = best_d.shape[0]
    if count == k and distance >= best_d[k - 1]:
        return count
    position = count if count < k else k - 1
    while position > 0 and best_d[position - 1] > distance:
        if position < k:
            best_d[position] = best_d[position - 1]
            best_i[position] = best_i[position - 1]
        position -= 1
    best_d[position] = distance
    best_i[position] = row
    return min(count + 1, k)


@njit(cache=True)
def _numeric_distance(a: np.ndarray, b: np.ndarray, start: float, limit: float) -> float:
    total = start
    for j in range(a.shape[0]):
        if not (np.isnan(a[j]) or np.isnan(b[j])):
            total += abs(a[j] - b[j])
            if total >= limit:
                return total
    return total


@njit(cache=True)
def _scan_leaf(ref_num: np.ndarray, q: np.ndarray, lo: int, hi: int, mism: float,
               best_d: np.ndarray, best_i: np.ndarray, count: int, horizon: float) -> int:
    """Offer a leaf's rows nearer than the k-th best (or the horizon); rows are sorted by
    their first number, so the scan starts where the query would go and stops on each side
    once that number alone is too far."""
    k = best_d.shape[0]
    if ref_num.shape[1] == 0:
        for row in range(lo, hi):
            if mism >= (best_d[k - 1] if count == k else horizon):
                break
            count = _offer(best_d, best_i, count, mism, row)
        return count
    x = q[0]
    if np.isnan(x) or np.isnan(ref_num[lo, 0]):  # no order to prune by: scan every row
        for row in range(lo, hi):
            limit = best_d[k - 1] if count == k else horizon
            d = _numeric_distance(q, ref_num[row], mism, limit)
            if d < limit:
                count = _offer(best_d, best_i, count, d, row)
        return count
    left, right = lo, hi
    while left < right:
        mid = (left + right) // 2
        if ref_num[mid, 0] < x:
            left = mid + 1
        else:
            right = mid
    right, left = left, left - 1
    while left >= lo or right < hi:
        gap_left = x - ref_num[left, 0] if left >= lo else np.inf
        gap_right = ref_num[right, 0] - x if right < hi else np.inf
        row = left if gap_left <= gap_right else right
        limit = best_d[k - 1] if count == k else horizon
        if mism + min(gap_left, gap_right) >= limit:
            break
        d = _numeric_distance(q, ref_num[row], mism, limit)
        if d < limit:
            count = _offer(best_d, best_i, count, d, row)
        if row == left:
            left -= 1
        else:
            right += 1
    return count


@njit(cache=True)
def _box_gap(q: np.ndarray, low: np.ndarray, high: np.ndarray, start: float,
             limit: float) -> float:
    """start + the L1 distance from q to a box of numbers (NaN sides add nothing)."""
    total = start
    for j in range(q.shape[0]):
        if q[j] < low[j]:
            total += low[j] - q[j]
        elif q[j] > high[j]:
            total += q[j] - high[j]
        if total >= limit:
            break
    return total


@njit(cache=True)
def _find_key(keys: np.ndarray, key: np.ndarray) -> int:
    """Position of key among lexicographically sorted keys, or -1."""
    lo, hi = 0, keys.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        order = 0
        for j in range(keys.shape[1]):
            if keys[mid, j] != key[j]:
                order = -1 if keys[mid, j] < key[j] else 1
                break
        if order == 0:
            return mid
        if order < 0:
            lo = mid + 1
        else:
            hi = mid
    return -1


@njit(cache=True)
def _mismatches(keys: np.ndarray, leaf: int, q_cat: np.ndarray) -> float:
    mism = 0.0
    for j in range(keys.shape[1]):
        if keys[leaf, j] != q_cat[j]:
            mism += 1.0
    return mism


@njit(cache=True)
def _lower_bound(keys: np.ndarray, low: np.ndarray, high: np.ndarray, check: np.ndarray,
                 leaf: int, q_cat: np.ndarray, q_num: np.ndarray, limit: float) -> float:
    """Mismatches with a leaf's key plus the distance to its box of numbers (a missing number
    adds nothing); stops counting once the sum reaches limit."""
    bound = 0.0
    for t in range(check.shape[0]):
        if keys[leaf, check[t]] != q_cat[check[t]]:
            bound += 1.0
            if bound >= limit:
                return bound
    for j in range(q_num.shape[0]):
        if q_num[j] < low[leaf, j]:
            bound += low[leaf, j] - q_num[j]
        elif q_num[j] > high[leaf, j]:
            bound += q_num[j] - high[leaf, j]
        if bound >= limit:
            return bound
    return bound


@njit(cache=True)
def _best(best_d: np.ndarray, count: int, horizon: float) -> float:
    """The distance a new row must beat: the k-th best, or the horizon until k are found."""
    return best_d[best_d.shape[0] - 1] if count == best_d.shape[0] else horizon


@njit(cache=True)
def _one_off(keys: np.ndarray, starts: np.ndarray, low: np.ndarray, high: np.ndarray,
             drop_keys: np.ndarray, drop_leaf: np.ndarray, ref_num: np.ndarray,
             q_cat: np.ndarray, q_num: np.ndarray, exact: int, horizon: float,
             best_d: np.ndarray, best_i: np.ndarray, count: int, probe: np.ndarray) -> int:
    """Scan the leaves whose key differs from the query's in exactly one column: for column
    j, those whose key with column j blanked equals the query's with column j blanked."""
    for j in range(keys.shape[1]):
        probe[:] = q_cat
        probe[j] = -1
        first = _find_key(drop_keys[j], probe)
        if first < 0:
            continue
        while first > 0 and _same(drop_keys[j], first - 1, probe):
            first -= 1
        position = first
        while position < drop_leaf.shape[1] and _same(drop_keys[j], position, probe):
            leaf = drop_leaf[j, position]
            position += 1
            limit = _best(best_d, count, horizon)
            if leaf == exact or limit <= 1.0:
                continue
            if _box_gap(q_num, low[leaf], high[leaf], 1.0, limit) < limit:
                count = _scan_leaf(ref_num, q_num, starts[leaf], starts[leaf + 1], 1.0, best_d,
                                   best_i, count, horizon)
    return count


@njit(cache=True)
def _same(keys: np.ndarray, row: int, key: np.ndarray) -> bool:
    for j in range(keys.shape[1]):  # noqa: SIM110 - a loop compiles, a generator may not
        if keys[row, j] != key[j]:
            return False
    return True


@njit(cache=True)
def _knn_one(keys: np.ndarray, starts: np.ndarray, low: np.ndarray, high: np.ndarray,
             check: np.ndarray, drop_keys: np.ndarray, drop_leaf: np.ndarray,
             ref_num: np.ndarray, q_cat: np.ndarray, q_num: np.ndarray, horizon: float,
             best_d: np.ndarray, best_i: np.ndarray, bounds: np.ndarray,
             probe: np.ndarray) -> None:
    """Leaves by the number of categories they differ in: the query's own key, then keys one
    category off (looked up, not searched), then, only if those left the k-th best at two
    mismatches or more, every other leaf whose lower bound can still beat it."""
    leaves = keys.shape[0]
    best_d[:] = np.inf
    count = 0
    exact = _find_key(keys, q_cat)
    if exact >= 0:
        count = _scan_leaf(ref_num, q_num, starts[exact], starts[exact + 1], 0.0, best_d,
                           best_i, count, horizon)
    if _best(best_d, count, horizon) <= 1.0:  # any other leaf costs one mismatch at least
        return
    count = _one_off(keys, starts, low, high, drop_keys, drop_leaf, ref_num, q_cat, q_num,
                     exact, horizon, best_d, best_i, count, probe)
    limit = _best(best_d, count, horizon)
    if limit <= 2.0:  # any leaf not scanned yet costs two mismatches at least
        return
    level = np.inf
    for leaf in range(leaves):  # lower bounds of the leaves two or more categories off
        mism = 0.0
        for t in range(check.shape[0]):
            if keys[leaf, check[t]] != q_cat[check[t]]:
                mism += 1.0
                if mism >= limit and mism >= 2.0:
                    break
        if mism <= 1.0 or mism >= limit:
            bounds[leaf] = np.inf
        else:
            bounds[leaf] = _box_gap(q_num, low[leaf], high[leaf], mism, limit)
            level = min(level, bounds[leaf])
    while count < best_d.shape[0] and level < np.inf:  # no k rows yet: nearest boxes first
        cutoff, level = level + 1.0, np.inf
        for leaf in range(leaves):
            if bounds[leaf] < cutoff:
                count = _scan_leaf(ref_num, q_num, starts[leaf], starts[leaf + 1],
                                   _mismatches(keys, leaf, q_cat), best_d, best_i, count,
                                   horizon)
                bounds[leaf] = np.inf
            elif bounds[leaf] < level:
                level = bounds[leaf]
    for leaf in range(leaves):
        if bounds[leaf] == np.inf:  # scanned, or too far
            continue
        limit = _best(best_d, count, horizon)
        if _lower_bound(keys, low, high, check, leaf, q_cat, q_num, limit) < limit:
            count = _scan_leaf(ref_num, q_num, starts[leaf], starts[leaf + 1],
                               _mismatches(keys, leaf, q_cat), best_d, best_i, count, horizon)


@njit(cache=True)
def knn(keys: np.ndarray, starts: np.ndarray, low: np.ndarray, high: np.ndarray,
        check: np.ndarray, drop_keys: np.ndarray, drop_leaf: np.ndarray, ref_num: np.ndarray,
        q_cat: np.ndarray, q_num: np.ndarray, k: int,
        horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """k nearest reference rows nearer than horizon for every query (see neighbors.py); a
    slot left empty holds distance inf. Reference rows are grouped into leaves by their
    categorical key (keys sorted), each leaf sorted by its first number."""
    n = q_cat.shape[0]
    out_d = np.empty((n, k))
    out_i = np.zeros((n, k), np.int64)
    best_d = np.empty(k)
    best_i = np.zeros(k, np.int64)
    bounds = np.empty(keys.shape[0])
    probe = np.empty(keys.shape[1], keys.dtype)
    for q in range(n):
        _knn_one(keys, starts, low, high, check, drop_keys, drop_leaf, ref_num, q_cat[q],
                 q_num[q], horizon, best_d, best_i, bounds, probe)
        out_d[q] = best_d
        out_i[q] = best_i
    return out_d, out_i


# ---------------------------------------------------------------- singling-out queries

EQ, NE, GE, LE, GT, LT, ISNULL, NOTNULL = 0, 1, 2, 3, 4, 5, 6, 7


@njit(cache=True)
def _first_code(sorted_codes: np.ndarray, value: int) -> int:
    """Position of the first code >= value in an ascending array."""
    lo, hi = 0, sorted_codes.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_codes[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _holds(code: int, op: int, value: int) -> bool:
    if op == EQ:
        return code == value
    if op == NE:
        return code >= 0 and code != value
    if op == GE:
        return code >= value
    if op == LE:
        return 0 <= code <= value
    if op == GT:
        return code > value
    if op == LT:
        return 0 <= code < value
    if op == ISNULL:
        return code < 0
    return code >= 0


@njit(cache=True)
def count_matches(codes: np.ndarray, sorted_codes: np.ndarray, order: np.ndarray,
                  q_col: np.ndarray, q_op: np.ndarray, q_val: np.ndarray,
                  cap: int) -> np.ndarray:
    """Rows matching each conjunctive query, counted up to cap.

    codes: rows x columns (missing: -1; numbers coded by rank, so order holds); per column
    sorted_codes / order: its codes ascending and the rows in that order. Every predicate of
    a query matches a contiguous run of its column's order (or a superset of it, for != and
    'not missing'); only the shortest run is walked.
    """
    n, queries, terms = codes.shape[0], q_col.shape[0], q_col.shape[1]
    out = np.zeros(queries, np.int64)
    for q in range(queries):
        best_lo, best_hi, best_len, best_t = 0, n, n + 1, 0
        for t in range(terms):
            c, op, v = q_col[q, t], q_op[q, t], q_val[q, t]
            column = sorted_codes[c]
            present = _first_code(column, 0)
            if op == EQ:
                lo, hi = _first_code(column, v), _first_code(column, v + 1)
            elif op == GE:
                lo, hi = _first_code(column, v), n
            elif op == GT:
                lo, hi = _first_code(column, v + 1), n
            elif op == LE:
                lo, hi = present, _first_code(column, v + 1)
            elif op == LT:
                lo, hi = present, _first_code(column, v)
            elif op == ISNULL:
                lo, hi = 0, present
            else:
                lo, hi = present, n
            if hi - lo < best_len:
                best_lo, best_hi, best_len, best_t = lo, hi, hi - lo, t
        found = 0
        pivot = q_col[q, best_t]
        for position in range(best_lo, best_hi):
            row = order[pivot, position]
            ok = True
            for t in range(terms):
                if not _holds(codes[row, q_col[q, t]], q_op[q, t], q_val[q, t]):
                    ok = False
                    break
            if ok:
                found += 1
                if found >= cap:
                    break
        out[q] = found
    return out
