"""Orientation arms: rotations keep the physics (norms, one matrix for acc and gyro), alignment
puts gravity on the chosen axis, augmentation is seeded, and the "none" arm changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from harnb.data.orientation import (
    ARMS,
    AXES,
    Orientation,
    align_rotations,
    frames_table,
    gravity,
    gravity_align,
    random_axis_flips,
    random_heading,
    random_rotations,
    rotate,
    rotations_about,
    signed_permutations,
    static_mask,
)

G = 9.81
T = 128


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def make_windows(
    gdirs: np.ndarray, seed: int = 0, noise: float = 0.05, motion: float = 1.0
) -> np.ndarray:
    """Windows with gravity along ``gdirs`` (n, 3), horizontal sinusoidal motion, noise, gyro."""
    rng = np.random.default_rng(seed)
    n = len(gdirs)
    g = G * _unit(np.asarray(gdirs, dtype=np.float64))
    t = np.arange(T) / 50.0
    # motion orthogonal to gravity, 2 Hz, so gravity (the mean) is unchanged
    h = _unit(np.cross(g, rng.standard_normal((n, 3))))
    body = motion * np.sin(2 * np.pi * 2.0 * t)[None, :, None] * h[:, None, :]
    acc = g[:, None, :] + body + noise * rng.standard_normal((n, T, 3))
    gyro = 0.5 * rng.standard_normal((n, T, 3))
    return np.concatenate([acc, gyro], axis=2).astype(np.float32)


def some_windows(n: int = 40, seed: int = 0) -> np.ndarray:
    return make_windows(np.random.default_rng(seed + 100).standard_normal((n, 3)), seed=seed)


def recover_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares M with b_t = M a_t for (T, 3) series."""
    Mt, *_ = np.linalg.lstsq(a.astype(np.float64), b.astype(np.float64), rcond=None)
    return Mt.T


def test_random_rotations_proper_and_uniform() -> None:
    R = random_rotations(20000, np.random.default_rng(1))
    assert R.shape == (20000, 3, 3) and R.dtype == np.float64
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-10)
    np.testing.assert_allclose(
        R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-10
    )
    # Haar measure: every entry has mean 0 (sd 1/sqrt(3) per draw -> ~0.004 over 20000)
    assert np.abs(R.mean(axis=0)).max() < 0.02
    # and E[R_ij^2] = 1/3
    np.testing.assert_allclose((R**2).mean(axis=0), 1 / 3, atol=0.02)


@pytest.mark.parametrize("mode", ["rotate3d", "heading", "permute", "align+heading"])
def test_norms_preserved_and_one_matrix(mode: str) -> None:
    X = some_windows(12)
    Xa, _ = Orientation(mode).augment(X, np.arange(12), np.random.default_rng(3))
    for part in (slice(0, 3), slice(3, 6)):
        np.testing.assert_allclose(
            np.linalg.norm(Xa[..., part], axis=2), np.linalg.norm(X[..., part], axis=2), rtol=1e-4
        )
    base = Orientation(mode).deterministic(X)
    for i in range(len(X)):
        M = recover_matrix(base[i, :, :3], Xa[i, :, :3])
        np.testing.assert_allclose(M @ M.T, np.eye(3), atol=1e-4)
        np.testing.assert_allclose(np.linalg.det(M), 1.0, atol=1e-4)
        # the matrix found from acc also maps the gyro
        np.testing.assert_allclose(base[i, :, 3:] @ M.T, Xa[i, :, 3:], atol=1e-4)


def test_rotate_keeps_dot_and_cross_relations() -> None:
    X = some_windows(10)
    R = random_rotations(10, 5)
    Xr = rotate(X, R)
    acc, gyr, acc2, gyr2 = X[..., :3], X[..., 3:], Xr[..., :3], Xr[..., 3:]
    np.testing.assert_allclose((acc * gyr).sum(-1), (acc2 * gyr2).sum(-1), atol=1e-4)
    np.testing.assert_allclose(
        np.cross(acc2, gyr2), np.einsum("nij,ntj->nti", R, np.cross(acc, gyr)), atol=1e-3
    )
    # one (3, 3) matrix for all windows broadcasts
    np.testing.assert_allclose(rotate(X, R[0]), rotate(X, np.broadcast_to(R[0], R.shape)))


def test_rotate_validates_shapes() -> None:
    X = some_windows(4)
    with pytest.raises(ValueError, match=r"\(n, T, 6\)"):
        rotate(X[..., :3], np.eye(3))
    with pytest.raises(ValueError, match=r"\(4, 3, 3\)"):
        rotate(X, np.stack([np.eye(3)] * 3))
    with pytest.raises(ValueError, match="orthogonal"):
        rotate(X, 2 * np.eye(3))


def test_signed_permutations() -> None:
    P24, P48 = signed_permutations(), signed_permutations(proper_only=False)
    assert P24.shape == (24, 3, 3) and P48.shape == (48, 3, 3)
    np.testing.assert_allclose(np.linalg.det(P24), 1.0)
    assert sorted(np.round(np.linalg.det(P48)).tolist()) == [-1.0] * 24 + [1.0] * 24
    assert len({m.tobytes() for m in P48}) == 48
    F = random_axis_flips(500, 0, proper_only=False)
    dets = np.round(np.linalg.det(F))
    assert set(dets.tolist()) == {-1.0, 1.0}
    assert np.all(np.round(np.linalg.det(random_axis_flips(200, 0))) == 1.0)


def test_improper_matrix_turns_gyro_as_axial_vector() -> None:
    X = some_windows(3)
    mirror = np.diag([-1.0, 1.0, 1.0])
    Xm = rotate(X, mirror)
    np.testing.assert_allclose(Xm[..., :3], X[..., :3] * np.array([-1, 1, 1], np.float32))
    # det(R)·R·ω = -diag(-1, 1, 1) ω = (ωx, -ωy, -ωz)
    np.testing.assert_allclose(Xm[..., 3:], X[..., 3:] * np.array([1, -1, -1], np.float32))
    # general improper flips: R a × det(R) R ω = R (a × ω)
    R = random_axis_flips(3, 7, proper_only=False)
    R[0] = signed_permutations(False)[np.linalg.det(signed_permutations(False)) < 0][0]
    Xr = rotate(X, R)
    np.testing.assert_allclose(
        np.cross(Xr[..., :3], Xr[..., 3:]),
        np.einsum("nij,ntj->nti", R, np.cross(X[..., :3], X[..., 3:])),
        atol=1e-3,
    )
    Xa, _ = Orientation("permute", proper_only=False, copies=4).augment(X, np.zeros(3), 1)
    np.testing.assert_allclose(
        np.linalg.norm(Xa[..., 3:], axis=2),
        np.tile(np.linalg.norm(X[..., 3:], axis=2), (4, 1)),
        rtol=1e-5,
    )


def test_align_rotations_edge_cases() -> None:
    for name, b in AXES.items():
        b = np.array(b)
        g = np.array([b, -b, [0, 0, 0], -b + [1e-9, 0, 1e-9], [1.0, 2.0, -3.0], 3 * b])
        R = align_rotations(g, name)
        np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
        np.testing.assert_allclose(
            R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-9
        )
        for i in (0, 1, 3, 4, 5):
            np.testing.assert_allclose(R[i] @ _unit(g[i]), b, atol=1e-8)
        np.testing.assert_allclose(R[0], np.eye(3), atol=1e-12)  # already aligned: no turn
        np.testing.assert_allclose(R[2], np.eye(3))  # zero gravity: identity
    # minimal: the rotation angle equals the angle between g and the axis
    g = np.array([[1.0, 0.0, 1.0]])
    R = align_rotations(g, "z")[0]
    assert np.isclose(np.arccos((np.trace(R) - 1) / 2), np.pi / 4)


def _static_gravity_dirs() -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.concatenate([np.array(list(AXES.values())), rng.standard_normal((10, 3))])


@pytest.mark.parametrize("axis", ["z", "x", "-y"])
@pytest.mark.parametrize("per", ["window", "recording"])
def test_alignment_puts_gravity_on_axis(axis: str, per: str) -> None:
    dirs = _static_gravity_dirs()  # includes exactly anti-parallel and parallel directions
    reps = 1 if per == "window" else 3  # per recording: 3 windows share one mounting
    gdirs = np.repeat(dirs, reps, axis=0)
    groups = np.repeat(np.arange(len(dirs)) * 7 + 3, reps)  # arbitrary, non-contiguous ids
    X = make_windows(gdirs, noise=0.05, motion=0.0)
    X[:reps, :, :3] = -G * np.array(AXES[axis])  # first recording: exactly anti-parallel, no noise
    Xa = gravity_align(X, axis, per=per, groups=groups)
    static = static_mask(Xa, 0.3)
    assert static.all()
    target = G * np.array(AXES[axis])
    np.testing.assert_allclose(
        Xa[static, :, :3].mean(axis=1), np.broadcast_to(target, (len(X), 3)), atol=0.05
    )
    # Orientation("align") does the same, in every split alike
    arm = Orientation("align", axis=axis, per=per)
    np.testing.assert_array_equal(arm.deterministic(X, groups), Xa)
    np.testing.assert_array_equal(arm.augment(X, np.arange(len(X)), 0, groups)[0], Xa)


def test_per_recording_uses_one_matrix_per_recording() -> None:
    # one recording, two postures: per-recording alignment keeps their relative angle
    X = make_windows(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), motion=0.0)
    Xa = gravity_align(X, "z", per="recording", groups=np.array(["r1", "r1"]))
    g0, g1 = gravity(Xa)
    np.testing.assert_allclose(np.dot(_unit(g0), _unit(g1)), 0.0, atol=0.02)
    np.testing.assert_allclose(_unit(g0 + g1), [0, 0, 1], atol=0.02)
    with pytest.raises(ValueError, match="groups"):
        gravity_align(X, "z", per="recording")


def test_heading_keeps_gravity_changes_horizontal() -> None:
    X = some_windows(30)
    Xh = random_heading(X, np.random.default_rng(2))
    np.testing.assert_allclose(gravity(Xh), gravity(X), atol=1e-3)
    np.testing.assert_allclose(Xh[..., :3].mean(axis=1), X[..., :3].mean(axis=1), atol=1e-3)
    Xz = random_heading(X, 2, axis="z")  # about a fixed axis: the z component stays
    np.testing.assert_allclose(Xz[..., 2], X[..., 2], atol=1e-5)
    changed = np.abs(Xh[..., :3] - X[..., :3]).max(axis=(1, 2)) > 0.1
    assert changed.mean() > 0.9
    R = rotations_about(np.array([0.0, 0.0, 2.0]), np.array([np.pi / 2]))[0]
    np.testing.assert_allclose(R @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)


def test_gravity_estimate_and_frames_table() -> None:
    X = some_windows(8)
    np.testing.assert_allclose(gravity(X), X[..., :3].mean(axis=1), atol=1e-5)
    # the optional low-pass estimate is the mean of filtfilt's output, close to the plain mean
    b, a = butter(2, 0.3 / 25.0)
    lp = filtfilt(b, a, X[..., :3].astype(np.float64), axis=1, padtype="even").mean(axis=1)
    np.testing.assert_allclose(gravity(X, cutoff_hz=0.3), lp, atol=1e-4)
    np.testing.assert_allclose(gravity(X, cutoff_hz=0.3), gravity(X), atol=0.15)
    moving = make_windows(np.tile([0.0, 1.0, 0.0], (4, 1)), motion=0.0)
    moving[..., 1] += 2.0 * np.sin(np.linspace(0, 20, T, dtype=np.float32))  # vertical bounce
    still = make_windows(np.tile([1.0, 0.0, 0.0], (4, 1)), motion=0.0)
    XX = np.concatenate([moving, still])
    assert static_mask(XX).tolist() == [False] * 4 + [True] * 4
    tab = frames_table(XX, np.array(["A"] * 6 + ["B"] * 2))
    assert set(tab) == {"A", "B"}
    assert tab["A"]["n_windows"] == 6 and tab["A"]["n_static"] == 2
    np.testing.assert_allclose(
        [tab["B"][k] for k in ("acc_x", "acc_y", "acc_z")], [G, 0, 0], atol=0.05
    )
    assert json.dumps(tab)  # plain, JSON-able values


def test_augment_seeded_and_copies_order() -> None:
    X, y = some_windows(6), np.arange(6) * 10
    for name, arm in ARMS.items():
        if not arm.is_augmentation:
            continue
        a1, y1 = arm.augment(X, y, np.random.default_rng(5))
        a2, _ = arm.augment(X, y, np.random.default_rng(5))
        a3, _ = arm.augment(X, y, np.random.default_rng(6))
        np.testing.assert_array_equal(a1, a2, err_msg=name)
        assert not np.allclose(a1, a3), name
        np.testing.assert_array_equal(y1, np.concatenate([y] * arm.copies))
    arm = Orientation("rotate3d", copies=3)
    Xa, ya = arm.augment(X, y, 0)
    assert Xa.shape == (18, T, 6)
    np.testing.assert_array_equal(ya, np.concatenate([y, y, y]))  # copy-major
    norms = np.linalg.norm(Xa[..., :3], axis=2).reshape(3, 6, T)
    np.testing.assert_allclose(
        norms, np.broadcast_to(np.linalg.norm(X[..., :3], axis=2), (3, 6, T)), rtol=1e-4
    )
    assert not np.allclose(Xa[:6], Xa[6:12])  # copies differ
    y2 = np.eye(6)[np.arange(6)]  # one-hot labels repeat along axis 0
    assert arm.augment(X, y2, 0)[1].shape == (18, 6)


def test_none_arm_is_identity_and_keys() -> None:
    X, y = some_windows(5), np.arange(5)
    arm = ARMS["none"]
    assert arm.key() == {"mode": "none"} and not arm.is_augmentation
    assert Orientation("none", axis="x", copies=4).key() == {"mode": "none"}
    np.testing.assert_array_equal(arm.deterministic(X), X)
    Xa, ya = arm.augment(X, y, 0)
    np.testing.assert_array_equal(Xa, X)
    np.testing.assert_array_equal(ya, y)
    keys = [json.dumps(a.key(), sort_keys=True) for a in ARMS.values()]
    assert len(set(keys)) == len(ARMS) == 6
    assert set(ARMS) == {"none", "rotate3d", "heading", "align", "align+heading", "permute"}
    assert Orientation("align", axis="x", per="recording").key() == {
        "mode": "align",
        "axis": "x",
        "per": "recording",
    }
    assert Orientation("permute", copies=2).key()["copies"] == 2
    assert not ARMS["align"].is_augmentation and ARMS["align+heading"].is_augmentation


@pytest.mark.parametrize(
    ("kwargs", "expect"),
    [
        ({"mode": "spin"}, "rotate3d"),
        ({"mode": "align", "axis": "w"}, "-y"),
        ({"mode": "align", "per": "session"}, "recording"),
        ({"mode": "rotate3d", "copies": 0}, "copies"),
        ({"mode": "permute", "proper_only": 1}, "proper_only"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict, expect: str) -> None:
    with pytest.raises(ValueError, match=expect):
        Orientation(**kwargs)


def test_invalid_function_arguments() -> None:
    X = some_windows(2)
    with pytest.raises(ValueError, match="valid"):
        gravity_align(X, axis="up")
    with pytest.raises(ValueError, match="window"):
        gravity_align(X, per="session")
    with pytest.raises(ValueError, match="3-vector"):
        gravity_align(X, axis=[0.0, 0.0, 0.0])
    Xv = gravity_align(X, axis=[1.0, 1.0, 0.0])  # any 3-vector is a valid target
    np.testing.assert_allclose(
        _unit(gravity(Xv)), np.broadcast_to(_unit(np.array([1.0, 1, 0])), (2, 3)), atol=0.02
    )


def test_inputs_untouched_and_float32_kept() -> None:
    X = some_windows(6)
    X0 = X.copy()
    groups = np.array([0, 0, 1, 1, 2, 2])
    for per in ("window", "recording"):
        for mode in ARMS:
            arm = Orientation(mode, per=per, copies=2)
            Xd = arm.deterministic(X, groups)
            Xa, _ = arm.augment(X, np.arange(6), 0, groups)
            assert Xd.dtype == np.float32 and Xa.dtype == np.float32, mode
            np.testing.assert_array_equal(X, X0)
    R = np.stack([np.eye(3)] * 6)
    R0 = R.copy()
    assert rotate(X, R) is not X
    np.testing.assert_array_equal(R, R0)
    np.testing.assert_array_equal(X, X0)
