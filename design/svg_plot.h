/* Small SVG charts written straight to a FILE* (docs/metrics.md "Report"): line charts with
 * markers and stacked bar charts, axes with round ticks, a legend. Every chart is one
 * <svg id=ID class="plot CLASS"> whose drawn series are <g class="series" data-name=NAME>
 * elements, so a test can find them in the DOM. No scripts, no external resources. */
#ifndef STRAND_DESIGN_SVG_PLOT_H
#define STRAND_DESIGN_SVG_PLOT_H
#include <stddef.h>
#include <stdio.h>

typedef struct sp_series {
    const char *name;    /* legend text */
    const double *x, *y; /* n points; NaN y values are skipped */
    size_t n;
    int colour;          /* palette index >= 0, or -1 for the reference grey */
    int dashed;
    int markers;         /* draw a circle at each point */
} sp_series;

typedef struct sp_axes {
    const char *id, *cls, *title, *xlabel, *ylabel;
    int width, height;   /* pixels (0: 440 x 280) */
    double ymin, ymax;   /* NaN: from the data (ymin 0 when all data >= 0) */
} sp_axes;

/* HTML/XML escaping of text into fp. */
void sp_escape(FILE *fp, const char *s);
/* A palette colour ("#1f77b4", ...); -1 gives the reference grey. */
const char *sp_colour(int i);
void sp_line_chart(FILE *fp, const sp_axes *ax, const sp_series *s, int ns);
/* Stacked bars: ncat bars (labels cats), each the nstack values v[c * nstack + k] (shares or
 * counts), stack k named names[k] in palette colour k. */
void sp_stacked_bars(FILE *fp, const sp_axes *ax, const char *const *cats, int ncat, const char *const *names,
                     int nstack, const double *v);
#endif
