#!/usr/bin/python3
"""Fits the polynomials of vector_erf and vector_log (src/kernels/cpu/fast_math.hpp) and
prints them with the error of the function evaluated in float32 arithmetic, in units
in the last place.

  erf(x) = x P(s) / Q(s), s = x^2 / 16     for |x| <= 4   (P of degree 6, Q of degree 5, Q(0) = 1)
  log(1 + f) = f + f^2 L(f)              for f in [sqrt(1/2) - 1, sqrt(2) - 1)   (L of degree 8)

Least squares on Chebyshev points in double precision (numpy): for the rational function,
the linearised problem P - f Q, reweighted by 1 / (f Q) a dozen times, so that the
relative error is what is minimised. The error check evaluates Horner's rule with
float32 rounding after every step.
"""
import math

import numpy as np

f32 = np.float32
erf = np.vectorize(math.erf)
erfc = np.vectorize(math.erfc)


def chebyshev_points(lo, hi, n=4000):
    return lo + (hi - lo) * (np.cos(np.linspace(0, np.pi, n)) + 1) / 2


def horner_float32(coefficients, x):
    r = np.full(x.shape, f32(coefficients[0]), dtype=np.float32)
    for c in coefficients[1:]:
        r = (r.astype(np.float64) * x.astype(np.float64) + float(f32(c))).astype(np.float32)  # one rounding: FMA
    return r


def ulps(got, exact):
    exponent = np.frexp(exact.astype(np.float32))[1]
    return np.abs(got.astype(np.float64) - exact) / np.ldexp(1.0, np.maximum(exponent - 24, -149))


def main():
    x = chebyshev_points(0, 4, 6000)
    x = x[x > 1e-6]
    s, f = x * x / 16, erf(x) / x
    denominator = np.ones_like(s)
    for _ in range(12):
        a = np.hstack([np.vander(s, 7, increasing=True), -f[:, None] * np.vander(s, 6, increasing=True)[:, 1:]])
        weight = (1 / (f * denominator))[:, None]
        c, *_ = np.linalg.lstsq(a * weight, f * weight[:, 0], rcond=None)
        p, q = c[:7][::-1], np.concatenate([[1.0], c[7:]])[::-1]
        denominator = np.polyval(q, s)
    print("P (s^6 ... s^0):", ", ".join("%.9e" % f32(c) for c in p))
    print("Q (s^5 ... s^0):", ", ".join("%.9e" % f32(c) for c in q))
    xs = np.concatenate([np.linspace(0, 4, 400001)[1:], np.geomspace(1e-30, 1e-2, 2000)]).astype(np.float32)
    ss = ((xs * xs).astype(np.float32) * f32(0.0625)).astype(np.float32)
    numerator = (xs.astype(np.float64) * horner_float32(p, ss)).astype(np.float32)  # x P / Q, in that order
    got = np.minimum((numerator.astype(np.float64) / horner_float32(q, ss)).astype(np.float32), f32(1))
    exact = erf(xs.astype(np.float64))
    print("max error erf: %.2f ulp, %.1e absolute" % (ulps(got, exact).max(), np.abs(got - exact).max()))

    lo, hi = np.sqrt(0.5) - 1, np.sqrt(2) - 1
    f = chebyshev_points(lo, hi)
    f = f[np.abs(f) > 1e-4]  # (log1p(f) - f) / f^2 loses its digits at 0
    l, *_ = np.linalg.lstsq(np.vander(f, 9), (np.log1p(f) - f) / (f * f), rcond=None)
    print("L (f^8 ... f^0):", ", ".join("%.9e" % f32(c) for c in l))
    ft = np.linspace(lo, hi, 400001).astype(np.float32)
    ft = ft[ft != 0]
    poly = horner_float32(l, ft)
    got = (ft.astype(np.float64) + ((ft * ft).astype(np.float64) * poly).astype(np.float32)).astype(np.float32)
    print("max error log(1 + f): %.2f ulp" % ulps(got, np.log1p(ft.astype(np.float64))).max())


if __name__ == "__main__":
    main()
