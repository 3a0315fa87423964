package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// charts draws, per workload, closed-loop throughput by client count and
// latency percentiles at the middle client count, as PNGs in dir; it
// returns each workload's file names.
func (r *report) charts(dir string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, w := range []string{"W1", "W2", "W3", "W4", "W6"} {
		systems := r.systemsOf(w)
		if len(systems) == 0 {
			continue
		}
		var labels []string
		for _, c := range r.Params.Clients {
			labels = append(labels, fmt.Sprintf("%d clients", c))
		}
		name := strings.ToLower(w) + "-throughput.png"
		err := barChart(filepath.Join(dir, name), fmt.Sprintf("%s: closed-loop throughput", w),
			"ops/s", labels, systems, func(s string, i int) float64 {
				p, _ := r.find(s, w, fmt.Sprintf("closed/%d", r.Params.Clients[i]))
				return p.OpsPerS
			})
		if err != nil {
			return nil, err
		}
		out[w] = append(out[w], name)
		mid := r.Params.Clients[len(r.Params.Clients)/2]
		name = strings.ToLower(w) + "-latency.png"
		err = barChart(filepath.Join(dir, name), fmt.Sprintf("%s: latency at %d clients (closed loop)", w, mid),
			"ms", []string{"p50", "p99", "p99.9"}, systems, func(s string, i int) float64 {
				p, _ := r.find(s, w, fmt.Sprintf("closed/%d", mid))
				return []float64{p.P50, p.P99, p.P999}[i]
			})
		if err != nil {
			return nil, err
		}
		out[w] = append(out[w], name)
	}
	return out, nil
}

// barChart draws grouped bars, one colour per series, each bar labelled
// with its value (the systems differ by orders of magnitude, so small bars
// would otherwise be unreadable).
func barChart(path, title, ylabel string, groups, series []string, value func(series string, group int) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	w := vg.Points(520 / float64(len(groups)) * 0.75 / float64(len(series)))
	hi := 0.0
	for i, s := range series {
		vals := make(plotter.Values, len(groups))
		var xys plotter.XYs
		var text []string
		for g := range groups {
			vals[g] = value(s, g)
			hi = max(hi, vals[g])
			xys = append(xys, plotter.XY{X: float64(g), Y: vals[g]})
			text = append(text, short(vals[g]))
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(bars)
		p.Legend.Add(s, bars)
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: text})
		if err != nil {
			return err
		}
		for j := range labels.TextStyle {
			labels.TextStyle[j].Font.Size = vg.Points(7)
			labels.TextStyle[j].XAlign = -0.5
		}
		labels.Offset = vg.Point{X: bars.Offset, Y: vg.Points(2)}
		p.Add(labels)
	}
	p.Y.Min = 0
	p.Y.Max = hi * 1.45 // room for the legend above the tallest bar
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.6, float64(len(groups))-0.4
	return p.Save(10*vg.Inch, 4.5*vg.Inch, path)
}

func short(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
