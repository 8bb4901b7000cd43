/* Duo's duality map (docs/duo.md "The duality", "Computing T"): the argmax of a Gaussian-diffused
 * one-hot w = α̃·e_x + σ̃·ε (σ̃ = sqrt(1 − α̃²)) over N ids is a uniform-state discrete diffusion
 * with clean probability
 *     α = T(α̃) = N/(N−1)·[ P(μ) − 1/N ],   P(μ) = ∫ φ(z − μ)·Φ(z)^(N−1) dz,   μ = α̃/σ̃.
 * Gaussian levels are also written as γ (Duo's log-SNR parameter): α̃² = sigmoid(−γ), μ = exp(−γ/2).
 *
 * duo_T / duo_T_gamma integrate directly (trapezoid rule on [μ − 14, μ + 14] with step 1/128: the
 * integrand is smooth and decays like φ, so the rule converges faster than any power of the step;
 * Φ^(N−1) is computed as exp((N−1)·log Φ) with a log Φ accurate in the lower tail).
 * duo_map tabulates T and dT/dγ on a uniform γ grid once per vocabulary and interpolates them by
 * cubic Hermite splines (value and derivative are both the spline's), cheap inside training.
 * Both are tested against scipy's quad to 1e-6 (tests/test_duo.c). All in double. */
#ifndef STRAND_GUIDANCE_DUO_MAP_H
#define STRAND_GUIDANCE_DUO_MAP_H

/* P(μ) = P(argmax keeps the token) for N >= 2 ids, and dP/dμ (may be NULL). */
double duo_prob(int N, double mu, double *dP_dmu);
/* T(α̃) for α̃ in [0, 1) and dT/dα̃ (may be NULL). α̃ = 0 gives 0; α̃ >= 1 gives 1 (derivative 0). */
double duo_T(int N, double alpha_tilde, double *dT_dat);
/* T as a function of γ, and dT/dγ (may be NULL; negative: T falls as γ grows). */
double duo_T_gamma(int N, double gamma, double *dT_dgamma);
/* α̃ = sqrt(sigmoid(−γ)) and σ̃ = sqrt(sigmoid(γ)) without cancellation. */
double duo_alpha_tilde(double gamma);
double duo_sigma_tilde(double gamma);

typedef struct duo_map {
    int N;
    double gmin, gmax, h; /* grid gmin + k·h, k = 0..n-1 */
    int n;
    double *T, *dT;       /* T and dT/dγ at the grid points */
} duo_map;

/* Tabulate T over γ in [gmin, gmax] on n >= 2 points (n = 0: 2049). 0 or STRAND_E_ARG/NOMEM. */
int duo_map_init(duo_map *m, int N, double gmin, double gmax, int n);
void duo_map_free(duo_map *m); /* accepts a zeroed map */
/* α = T(γ) and dα/dγ (may be NULL) by the Hermite spline; γ outside the table is clamped to it
 * (derivative of the end point). */
double duo_map_alpha(const duo_map *m, double gamma, double *dalpha_dgamma);
#endif
