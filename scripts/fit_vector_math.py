#!/usr/bin/python3
"""Fits the polynomials of vector_erf and vector_log (src/kernels/cpu/fast_math.hpp) and
prints them with the error of the function evaluated in float32 arithmetic, in units
in the last place.

  erf(x) = x P(x^2)                      for |x| < 1   (P of degree 5)
  erf(x) = sign(x) (1 - exp(Q(|x| - 2.5)))  for 1 <= |x| <= 4   (Q of degree 8, fits log erfc)
  log(1 + f) = f + f^2 L(f)              for f in [sqrt(1/2) - 1, sqrt(2) - 1)   (L of degree 8)

Least squares on Chebyshev points in double precision (numpy); the error check
evaluates Horner's rule with float32 rounding after every step.
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
    s = chebyshev_points(0, 1)
    x = np.sqrt(np.maximum(s, 1e-12))
    p, *_ = np.linalg.lstsq(np.vander(s, 6), erf(x) / x, rcond=None)
    t = chebyshev_points(1, 4)
    q, *_ = np.linalg.lstsq(np.vander(t - 2.5, 9), np.log(erfc(t)), rcond=None)
    print("P (s^5 ... s^0, s = x^2):", ", ".join("%.9e" % f32(c) for c in p))
    print("Q (u^8 ... u^0): ", ", ".join("%.9e" % f32(c) for c in q))

    xs = np.linspace(0, 1, 200001, dtype=np.float32)[1:-1]
    small = (horner_float32(p, xs * xs).astype(np.float64) * xs).astype(np.float32)
    print("max error |x| < 1:  %.2f ulp" % ulps(small, erf(xs.astype(np.float64))).max())
    xl = np.linspace(1, 4, 200001, dtype=np.float32)
    e = np.exp(horner_float32(q, (xl - f32(2.5)).astype(np.float32)).astype(np.float64)).astype(np.float32)
    large = (f32(1) - e).astype(np.float32)
    print("max error 1..4:     %.2f ulp (exp correctly rounded)" % ulps(large, erf(xl.astype(np.float64))).max())

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
