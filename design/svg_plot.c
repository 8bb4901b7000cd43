/* SVG line and stacked-bar charts (design/svg_plot.h). */
#include "design/svg_plot.h"

#include <math.h>
#include <string.h>

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
enum { NPAL = sizeof palette / sizeof palette[0], ML = 58, MR = 150, MT = 28, MB = 46 };

const char *sp_colour(int i) { return i < 0 ? "#999999" : palette[i % NPAL]; }

void sp_escape(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* A round tick step for a range: 1, 2 or 5 times a power of ten, about 5 ticks. */
static double nice_step(double range)
{
    if (!(range > 0)) return 1;
    double raw = range / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct frame {
    int w, h;
    double x0, x1, y0, y1;
} frame;

static double px(const frame *f, double x) { return ML + (x - f->x0) / (f->x1 - f->x0) * (f->w - ML - MR); }
static double py(const frame *f, double y) { return f->h - MB - (y - f->y0) / (f->y1 - f->y0) * (f->h - MT - MB); }

static void open_svg(FILE *fp, const sp_axes *ax, frame *f)
{
    f->w = ax->width > 0 ? ax->width : 440;
    f->h = ax->height > 0 ? ax->height : 280;
    fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"", fp);
    sp_escape(fp, ax->id);
    fputs("\" class=\"plot", fp);
    if (ax->cls) fputc(' ', fp), sp_escape(fp, ax->cls);
    fprintf(fp, "\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n<title>", f->w, f->h, f->w, f->h);
    sp_escape(fp, ax->title);
    fprintf(fp, "</title>\n<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", f->w, f->h);
    fprintf(fp, "<text class=\"plot-title\" x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\">", ML);
    sp_escape(fp, ax->title);
    fputs("</text>\n", fp);
}

static void axes(FILE *fp, const sp_axes *ax, const frame *f, int xticks)
{
    fprintf(fp, "<g class=\"axes\" stroke=\"#333\" stroke-width=\"1\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
            ML, f->h - MB, f->w - MR, f->h - MB, ML, MT, ML, f->h - MB);
    fputs("<g class=\"ticks\" font-size=\"10\" fill=\"#333\">", fp);
    double st = nice_step(f->y1 - f->y0);
    for (double t = ceil(f->y0 / st - 1e-9) * st; t <= f->y1 + 1e-9 * st; t += st) {
        double y = py(f, t);
        fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", ML, y, f->w - MR, y);
        fprintf(fp, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", ML - 4, y + 3, fabs(t) < 1e-12 * st ? 0 : t);
    }
    if (xticks) {
        st = nice_step(f->x1 - f->x0);
        for (double t = ceil(f->x0 / st - 1e-9) * st; t <= f->x1 + 1e-9 * st; t += st)
            fprintf(fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", px(f, t), f->h - MB + 14,
                    fabs(t) < 1e-12 * st ? 0 : t);
    }
    fputs("</g>\n", fp);
    fprintf(fp, "<text class=\"xlabel\" x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">", (ML + f->w - MR) / 2,
            f->h - 8);
    sp_escape(fp, ax->xlabel);
    fprintf(fp, "</text>\n<text class=\"ylabel\" font-size=\"11\" text-anchor=\"middle\" transform=\"translate(14,%d) rotate(-90)\">",
            (MT + f->h - MB) / 2);
    sp_escape(fp, ax->ylabel);
    fputs("</text>\n", fp);
}

static void legend_entry(FILE *fp, const frame *f, int i, const char *name, const char *colour, int dashed, int box)
{
    double y = MT + 6 + 15 * i;
    int x = f->w - MR + 10;
    if (box)
        fprintf(fp, "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"9\" fill=\"%s\"/>", x, y - 7, colour);
    else
        fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>", x, y - 3,
                x + 16, y - 3, colour, dashed ? " stroke-dasharray=\"4 3\"" : "");
    fprintf(fp, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\">", x + 20, y);
    sp_escape(fp, name);
    fputs("</text>", fp);
}

void sp_line_chart(FILE *fp, const sp_axes *ax, const sp_series *s, int ns)
{
    frame f;
    open_svg(fp, ax, &f);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].y[i]) || !isfinite(s[k].x[i])) continue;
            x0 = fmin(x0, s[k].x[i]), x1 = fmax(x1, s[k].x[i]);
            y0 = fmin(y0, s[k].y[i]), y1 = fmax(y1, s[k].y[i]);
        }
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (y0 >= 0) y0 = 0;
    if (!isnan(ax->ymin)) y0 = ax->ymin;
    if (!isnan(ax->ymax)) y1 = ax->ymax;
    if (!(y1 > y0)) y1 = y0 + 1;
    if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
    f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1 + (isnan(ax->ymax) ? 0.05 * (y1 - y0) : 0);
    axes(fp, ax, &f, 1);
    for (int k = 0; k < ns; k++) {
        const char *c = sp_colour(s[k].colour);
        fputs("<g class=\"series\" data-name=\"", fp);
        sp_escape(fp, s[k].name);
        fprintf(fp, "\"><polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"", c,
                s[k].dashed ? " stroke-dasharray=\"4 3\"" : "");
        for (size_t i = 0; i < s[k].n; i++)
            if (isfinite(s[k].y[i]) && isfinite(s[k].x[i]))
                fprintf(fp, "%.1f,%.1f ", px(&f, s[k].x[i]), py(&f, fmin(fmax(s[k].y[i], f.y0), f.y1)));
        fputs("\"/>", fp);
        if (s[k].markers)
            for (size_t i = 0; i < s[k].n; i++)
                if (isfinite(s[k].y[i]) && isfinite(s[k].x[i]))
                    fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", px(&f, s[k].x[i]),
                            py(&f, fmin(fmax(s[k].y[i], f.y0), f.y1)), c);
        fputs("</g>\n", fp);
    }
    fputs("<g class=\"legend\">", fp);
    for (int k = 0; k < ns; k++) legend_entry(fp, &f, k, s[k].name, sp_colour(s[k].colour), s[k].dashed, 0);
    fputs("</g>\n</svg>\n", fp);
}

void sp_stacked_bars(FILE *fp, const sp_axes *ax, const char *const *cats, int ncat, const char *const *names,
                     int nstack, const double *v)
{
    frame f;
    open_svg(fp, ax, &f);
    double top = 0;
    for (int c = 0; c < ncat; c++) {
        double s = 0;
        for (int k = 0; k < nstack; k++) s += isfinite(v[c * nstack + k]) ? v[c * nstack + k] : 0;
        top = fmax(top, s);
    }
    f.x0 = 0, f.x1 = ncat > 0 ? ncat : 1, f.y0 = 0;
    f.y1 = !isnan(ax->ymax) ? ax->ymax : top > 0 ? top : 1;
    axes(fp, ax, &f, 0);
    double bw = (px(&f, 1) - px(&f, 0)) * 0.7;
    for (int k = 0; k < nstack; k++) {
        fputs("<g class=\"series\" data-name=\"", fp);
        sp_escape(fp, names ? names[k] : "");
        fprintf(fp, "\" fill=\"%s\">", sp_colour(k));
        for (int c = 0; c < ncat; c++) {
            double base = 0;
            for (int j = 0; j < k; j++) base += isfinite(v[c * nstack + j]) ? v[c * nstack + j] : 0;
            double h = isfinite(v[c * nstack + k]) ? v[c * nstack + k] : 0;
            if (h <= 0) continue;
            double ya = py(&f, base + h), yb = py(&f, base);
            fprintf(fp, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                    px(&f, c + 0.5) - bw / 2, ya, bw, yb - ya);
        }
        fputs("</g>\n", fp);
    }
    fputs("<g class=\"ticks\" font-size=\"10\" fill=\"#333\">", fp);
    for (int c = 0; c < ncat; c++) {
        fprintf(fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", px(&f, c + 0.5), f.h - MB + 14);
        sp_escape(fp, cats[c]);
        fputs("</text>", fp);
    }
    fputs("</g>\n<g class=\"legend\">", fp);
    for (int k = 0; k < nstack && k < 14; k++) legend_entry(fp, &f, k, names ? names[k] : "", sp_colour(k), 0, 1);
    fputs("</g>\n</svg>\n", fp);
}
