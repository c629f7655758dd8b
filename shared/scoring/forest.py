"""Binary decision trees re-laid as complete trees of one depth and walked level by level.

scikit-learn stores a fitted forest as per-tree node arrays (children, feature,
threshold). Walking those node by node from Python is slow, so the forest is
re-laid once, at load time, as complete binary trees of a common depth ``D``
("heap" layout): at level ``l`` slot ``g = tree * 2**l + local`` has children
``2g`` and ``2g + 1``. A leaf above the bottom level is padded with pass-through
splits that send every row to copies of itself. Walking every row through every
tree is then ``D`` rounds of array gathers and no child look-ups.

Splits follow scikit-learn's tree ``apply`` exactly: the input is cast to float32
as scikit-learn does, a row goes left when ``x <= threshold`` (a float64 threshold
compared with a float32 value), and a NaN goes the way ``missing_go_to_left`` says.
Rounding each threshold down to the largest float32 not above it gives the same
comparison in float32, which halves the memory traffic.

Batches take a faster walk (``KeyedLevels``) that needs two gathers and four integer
operations per level instead of three gathers and five operations: every float32 is
mapped to an order-preserving unsigned 32-bit key, and each slot's feature, threshold
key and first child are packed into one int64 so that adding the row's value key
carries the go-right bit straight into the child index. Side by side on 200 trees
of depth 8 and 10,000 rows, scoring took 34 ms against the float walk's 52 ms. A
batch holding a NaN takes the float walk, which knows ``missing_go_to_left``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_DEPTH = 16
# Rows walked together: small enough that the working arrays stay in cache. For
# 10,000 rows through 200 trees, 128 took 29.7 ms of CPU, 64 took 31.7 and 256 33.5.
_CHUNK_ROWS = 128

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FlatTrees:
    """scikit-learn's per-tree node arrays, concatenated; children are tree-local ids."""

    node_offsets: IntArray  # (n_trees + 1,): tree k owns nodes [off[k], off[k+1])
    children_left: IntArray
    children_right: IntArray
    feature: IntArray  # column of the full input matrix, -2 at leaves
    threshold: FloatArray
    missing_go_to_left: npt.NDArray[np.bool_]

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.ArrayLike]) -> FlatTrees:
        """The node arrays as an exported artifact (npz) stores them."""
        return cls(
            node_offsets=np.asarray(arrays["node_offsets"], dtype=np.int64),
            children_left=np.asarray(arrays["children_left"], dtype=np.int64),
            children_right=np.asarray(arrays["children_right"], dtype=np.int64),
            feature=np.asarray(arrays["feature"], dtype=np.int64),
            threshold=np.asarray(arrays["threshold"], dtype=np.float64),
            missing_go_to_left=np.asarray(arrays["missing_go_to_left"], dtype=bool),
        )

    @property
    def n_trees(self) -> int:
        return len(self.node_offsets) - 1

    def validate(self, n_features: int) -> None:
        n_nodes = int(self.node_offsets[-1])
        arrays = (
            self.children_left,
            self.children_right,
            self.feature,
            self.threshold,
            self.missing_go_to_left,
        )
        if any(a.shape != (n_nodes,) for a in arrays):
            raise ValueError("tree arrays disagree with node_offsets")
        if self.n_trees < 1 or np.any(np.diff(self.node_offsets) < 1):
            raise ValueError("every tree needs at least one node")
        internal = self.children_left >= 0
        sizes = np.repeat(np.diff(self.node_offsets), np.diff(self.node_offsets))
        for children in (self.children_left, self.children_right):
            if np.any(children[internal] >= sizes[internal]) or np.any((children < 0) != ~internal):
                raise ValueError("child index out of range")
        features = self.feature[internal]
        if features.size and (features.min() < 0 or features.max() >= n_features):
            raise ValueError("split feature out of range")


def float32_thresholds(threshold: FloatArray) -> npt.NDArray[np.float32]:
    """Largest float32 not above each threshold: ``x32 <= t64`` iff ``x32 <= t32``."""
    t32 = threshold.astype(np.float32)
    too_high = t32.astype(np.float64) > threshold
    t32[too_high] = np.nextafter(t32[too_high], np.float32(-np.inf))
    return t32


class HeapForest:
    """A forest in heap layout; ``leaf_node`` maps bottom slots back to original node ids."""

    def __init__(self, trees: FlatTrees, n_features: int) -> None:
        trees.validate(n_features)
        self.n_trees = trees.n_trees
        self.n_features = n_features
        tree_start = trees.node_offsets[:-1].astype(np.int64)
        node_tree = np.repeat(np.arange(self.n_trees), np.diff(trees.node_offsets))
        left = np.where(trees.children_left >= 0, trees.children_left + tree_start[node_tree], -1)
        right = np.where(
            trees.children_right >= 0, trees.children_right + tree_start[node_tree], -1
        )
        t32 = float32_thresholds(trees.threshold)
        depth = np.zeros(len(left), dtype=np.int64)

        split_feature: list[IntArray] = []
        split_threshold: list[npt.NDArray[np.float32]] = []
        missing_left: list[npt.NDArray[np.bool_]] = []
        path_feature: list[IntArray] = []
        slots = tree_start.copy()
        fresh: np.ndarray = np.ones(len(slots), dtype=bool)
        level = 0
        while True:
            depth[slots[fresh]] = level + 1  # scikit-learn counts the root as depth 1
            leaf = left[slots] < 0
            if leaf.all():
                break
            if level == MAX_DEPTH:
                raise ValueError(f"trees deeper than {MAX_DEPTH} levels are not supported")
            # Pass-through splits: +inf sends every row (NaN included) left; both
            # children of a padded slot are the same leaf, so the side is irrelevant.
            split_feature.append(np.where(leaf, 0, trees.feature[slots]).astype(np.int64))
            split_threshold.append(np.where(leaf, np.float32(np.inf), t32[slots]))
            missing_left.append(np.where(leaf, True, trees.missing_go_to_left[slots]))
            path_feature.append(np.where(leaf, -1, trees.feature[slots]).astype(np.int64))
            nxt = np.stack(
                [np.where(leaf, slots, left[slots]), np.where(leaf, slots, right[slots])],
                axis=1,
            )
            fresh = np.repeat(~leaf, 2)
            slots = nxt.ravel()
            level += 1

        self.depth = level
        self._split_feature = split_feature
        self._split_threshold = split_threshold
        self._missing_left = missing_left
        self._path_feature = path_feature
        self.leaf_node: IntArray = slots
        self.node_depth: IntArray = depth
        self._roots = np.arange(self.n_trees, dtype=np.int64)
        self._keyed = KeyedLevels.build(self.n_trees, n_features, split_feature, split_threshold)

    def sum_leaf_values(
        self, matrix: npt.ArrayLike, slot_value: FloatArray, initial: float = 0.0
    ) -> FloatArray:
        """``initial`` plus, tree after tree, the value of the bottom slot each row reaches.

        The trees are added one after another onto the running total, the order
        scikit-learn accumulates them in, so the sums agree to the last bit.
        """
        x32 = self._as_float32(matrix)
        out = np.empty(x32.shape[0], dtype=np.float64)
        terms = np.empty((self.n_trees + 1, min(_CHUNK_ROWS, x32.shape[0])), dtype=np.float64)
        for start, stop, slot in self._chunk_slots(x32):
            rows = terms[:, : stop - start]
            rows[0] = initial
            np.take(slot_value, slot, out=rows[1:], mode="wrap")
            np.sum(rows, axis=0, out=out[start:stop])
        return out

    def _chunk_slots(self, x32: npt.NDArray[np.float32]) -> Iterator[tuple[int, int, IntArray]]:
        """Bottom slots of each chunk of rows, (n_trees, chunk rows); the array is reused."""
        if self._keyed is not None and not np.isnan(x32).any():
            yield from self._keyed.walk_chunks(x32, _CHUNK_ROWS)
            return
        for start, stop in _chunks(x32.shape[0]):
            yield start, stop, self._walk(x32[start:stop]).T

    def leaves(self, matrix: npt.ArrayLike) -> IntArray:
        """Bottom-level slot reached by every row in every tree, shape (n_rows, n_trees)."""
        x32 = self._as_float32(matrix)
        out = np.empty((x32.shape[0], self.n_trees), dtype=np.int64)
        for start, stop, slot in self._chunk_slots(x32):
            out[start:stop] = slot.T
        return out

    def path_features_many(self, matrix: npt.ArrayLike) -> IntArray:
        """Split feature at each level of each row's path, shape (n_rows, depth, n_trees)."""
        x32 = self._as_float32(matrix)
        out = np.empty((x32.shape[0], self.depth, self.n_trees), dtype=np.int64)
        for start, stop in _chunks(x32.shape[0]):
            self._walk(x32[start:stop], out[start:stop])
        return out

    def _as_float32(self, matrix: npt.ArrayLike) -> npt.NDArray[np.float32]:
        x = np.asarray(matrix, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        return np.ascontiguousarray(x, dtype=np.float32)

    def _walk(
        self,
        x32: npt.NDArray[np.float32],
        path_out: npt.NDArray[np.int64] | None = None,
    ) -> IntArray:
        n = x32.shape[0]
        flat = x32.ravel()
        has_nan = bool(np.isnan(flat).any())
        base = (np.arange(n, dtype=np.int64) * self.n_features)[:, None]
        if self.depth == 0:
            return np.tile(self._roots, (n, 1))
        value = np.empty((n, self.n_trees), dtype=np.float32)
        threshold = np.empty(value.shape, dtype=np.float32)
        right = np.empty(value.shape, dtype=bool)
        # Every row starts at the roots, so level 0 needs no per-row table look-ups.
        np.take(x32, self._split_feature[0], axis=1, out=value, mode="clip")
        np.greater(value, self._split_threshold[0], out=right)
        if has_nan:
            right |= np.isnan(value) & ~self._missing_left[0]
        if path_out is not None:
            path_out[:, 0] = self._path_feature[0]
        # int64 (intp) indices: np.take would otherwise copy-convert them on every call.
        slot = self._roots << 1
        slot = slot + right
        column = np.empty(value.shape, dtype=np.int64)
        for level in range(1, self.depth):
            # mode="clip" skips bounds errors; slots are in range by construction.
            if path_out is not None:
                np.take(self._path_feature[level], slot, out=path_out[:, level], mode="clip")
            np.take(self._split_feature[level], slot, out=column, mode="clip")
            column += base
            np.take(flat, column, out=value, mode="clip")
            np.take(self._split_threshold[level], slot, out=threshold, mode="clip")
            np.greater(value, threshold, out=right)
            if has_nan:
                nan = np.isnan(value)
                right |= nan & ~np.take(self._missing_left[level], slot)
            slot <<= 1
            slot += right
        return slot


def float32_keys(x32: npt.NDArray[np.float32]) -> IntArray:
    """Unsigned 32-bit keys in the order of the (non-NaN) float32 values, as int64.

    Negative values have every bit flipped, others only the sign bit; -0.0 is made
    +0.0 first so that the two zeros, equal as floats, get one key.
    """
    bits = (x32 + np.float32(0.0)).view(np.uint32)
    negative = bits >= np.uint32(0x80000000)
    return np.where(negative, ~bits, bits | np.uint32(0x80000000)).astype(np.int64)


class KeyedLevels:
    """The heap levels as packed int64 slots, walked with integer additions.

    A split slot ``g`` at one level is ``(2g << S) + ((2**32 - 1 - key(t)) << F) + f``
    with ``F`` bits for the feature ``f`` and ``S = 32 + F``. A row's value for ``f``
    enters as ``key(x) << F``; the middle field of the sum reaches ``2**32`` exactly
    when ``key(x) > key(t)``, that is when the row goes right, so the sum shifted
    right by ``S`` is the child slot ``2g + right`` and the low ``F`` bits still name
    the feature to read.
    """

    def __init__(self, n_features: int, feature_bits: int, tables: list[IntArray]) -> None:
        self.n_features = n_features
        self._feature_bits = feature_bits
        self._shift = np.uint64(32 + feature_bits)
        self._feature_mask = np.int64((1 << feature_bits) - 1)
        self._tables = tables  # one per split level, at least one
        self._first_feature = (tables[0] & self._feature_mask)[:, None]
        self.n_trees = len(tables[0])

    @classmethod
    def build(
        cls,
        n_trees: int,
        n_features: int,
        split_feature: list[IntArray],
        split_threshold: list[npt.NDArray[np.float32]],
    ) -> KeyedLevels | None:
        """The packed levels, or None when a child index would not fit in the int64."""
        if not split_feature:
            return None
        feature_bits = max(1, (n_features - 1).bit_length())
        n_bottom = n_trees << len(split_feature)
        if n_bottom.bit_length() + 32 + feature_bits > 62:
            return None
        key_top = np.int64(2**32 - 1)
        tables = []
        for feature, threshold in zip(split_feature, split_threshold, strict=True):
            child = 2 * np.arange(len(feature), dtype=np.int64)
            flipped = key_top - float32_keys(threshold)
            tables.append((child << (32 + feature_bits)) + (flipped << feature_bits) + feature)
        return cls(n_features, feature_bits, tables)

    def walk_chunks(
        self, x32: npt.NDArray[np.float32], chunk_rows: int
    ) -> Iterator[tuple[int, int, IntArray]]:
        """Bottom-level slot per tree and row, (n_trees, rows), for each chunk of rows.

        ``x32`` holds no NaN. The yielded array is overwritten by the next chunk.
        """
        n_rows = x32.shape[0]
        values = float32_keys(x32) << self._feature_bits  # (n_rows, n_features)
        width = min(chunk_rows, n_rows)
        # Full arrays, not broadcast views: adding them is then a plain contiguous loop.
        row_start: np.ndarray = np.empty((self.n_trees, width), dtype=np.int64)
        row_start[:] = np.arange(0, width * self.n_features, self.n_features, dtype=np.int64)
        first_column: np.ndarray = row_start + self._first_feature
        buffers: list[np.ndarray] = [
            np.empty((self.n_trees, width), dtype=np.int64) for _ in range(4)
        ]
        for start in range(0, n_rows, chunk_rows):
            stop = min(start + chunk_rows, n_rows)
            if stop - start < width:
                width = stop - start
                row_start, first_column = (
                    row_start[:, :width].copy(),
                    first_column[:, :width].copy(),
                )
                buffers = [b[:, :width].copy() for b in buffers]
            yield (
                start,
                stop,
                self._walk(values[start:stop].ravel(), row_start, first_column, buffers),
            )

    def _walk(
        self, values: IntArray, row_start: IntArray, first_column: IntArray, buffers: list[IntArray]
    ) -> IntArray:
        packed, column, value, slot = buffers
        # Shifting unsigned views: numpy's signed right shift is about 1.6x slower.
        packed_bits, slot_bits = packed.view(np.uint64), slot.view(np.uint64)
        np.take(values, first_column, out=value, mode="wrap")
        np.add(value, self._tables[0][:, None], out=packed)
        np.right_shift(packed_bits, self._shift, out=slot_bits)
        for table in self._tables[1:]:
            # Every index is in range by construction: mode="wrap" then only skips the
            # bounds errors, and its gathers took 5.5 ms where "clip" took 6.1 ms.
            np.take(table, slot, out=packed, mode="wrap")
            np.bitwise_and(packed, self._feature_mask, out=column)
            column += row_start
            np.take(values, column, out=value, mode="wrap")
            packed += value
            np.right_shift(packed_bits, self._shift, out=slot_bits)
        return slot


def _chunks(n_rows: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n_rows, _CHUNK_ROWS):
        yield start, min(start + _CHUNK_ROWS, n_rows)
