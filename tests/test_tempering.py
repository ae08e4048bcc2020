"""The shared inverse-temperature ladder (boltz.utils._tempering)."""

import numpy as np
import pytest

from boltz.utils._tempering import temperature_ladder


def test_geometric_ladder():
    b = temperature_ladder(5, beta_min=0.0625)
    np.testing.assert_allclose(b, [1, 0.5, 0.25, 0.125, 0.0625])
    assert b[0] == 1.0 and np.all(np.diff(b) < 0)
    assert temperature_ladder(1).tolist() == [1.0]


def test_explicit_ladder_is_checked():
    assert temperature_ladder(betas=[1, 0.3, 0]).tolist() == [1.0, 0.3, 0.0]
    for bad in ([0.9, 0.5], [1, 0.5, 0.5], [1, 2], [1, np.nan], []):
        with pytest.raises(ValueError, match="betas"):
            temperature_ladder(betas=bad)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_temperatures"):
            temperature_ladder(bad)
    with pytest.raises(ValueError, match="beta_min"):
        temperature_ladder(3, beta_min=1.0)
