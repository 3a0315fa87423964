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
		err := barChart(filepath.Join(dir, name), fmt.Sprintf("%s %s: closed-loop throughput", w, workloadTitles[w][:min(len(workloadTitles[w]), 40)]),
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
		err = barChart(filepath.Join(dir, name), fmt.Sprintf("%s latency at %d clients (closed loop)", w, mid),
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

func barChart(path, title, ylabel string, groups, series []string, value func(series string, group int) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	w := vg.Points(60 / float64(len(series)))
	for i, s := range series {
		vals := make(plotter.Values, len(groups))
		for g := range groups {
			vals[g] = value(s, g)
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
	}
	p.NominalX(groups...)
	return p.Save(9*vg.Inch, 4.5*vg.Inch, path)
}
