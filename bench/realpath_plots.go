package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// rpPlots draws the latecomer scenario's windows and queue for LEDBAT and
// LEDBAT++, and the 100 Mbit/s, 100 ms path's window, bytes in flight and
// queue for both.
func rpPlots(dir string, res rpResults) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range []struct{ name, file, title string }{
		{"utp-ledbat", "realpath-latecomer-ledbat.png", "LEDBAT"},
		{"utp", "realpath-latecomer-ledbatpp.png", "LEDBAT++"},
	} {
		tr := res.late[c.name].Trace
		title := fmt.Sprintf("%s: a second flow at %v; %v", c.title, rpLateJoin, tr.Config)
		panels, err := rpPanels(title, tr, false)
		if err != nil {
			return err
		}
		if err := savePanels(filepath.Join(dir, c.file), panels); err != nil {
			return err
		}
	}
	var panels []*plot.Plot
	for _, c := range []struct{ name, title string }{{"utp-ledbat", "LEDBAT"}, {"utp", "LEDBAT++"}} {
		tr := res.longFat[c.name].Trace
		p, err := rpPanels(fmt.Sprintf("%s, %v", c.title, tr.Config), tr, true)
		if err != nil {
			return err
		}
		panels = append(panels, p...)
	}
	return savePanels(filepath.Join(dir, "realpath-longfat.png"), panels)
}

// rpPanels draws a trace: each flow's window (and, with inFlight, its
// bytes in flight) above the probes' queueing delay.
func rpPanels(title string, tr *realpath.Trace, inFlight bool) ([]*plot.Plot, error) {
	win := plot.New()
	win.Title.Text = title
	win.Y.Label.Text = "KB"
	var lines []any
	for i, f := range tr.Flows {
		w, fl := make(plotter.XYs, 0, len(f.Points)), make(plotter.XYs, 0, len(f.Points))
		for _, pt := range f.Points {
			w = append(w, plotter.XY{X: pt.At.Seconds(), Y: float64(pt.Window) / 1e3})
			fl = append(fl, plotter.XY{X: pt.At.Seconds(), Y: float64(pt.InFlight) / 1e3})
		}
		lines = append(lines, fmt.Sprintf("window, flow %d", i+1), w)
		if inFlight {
			lines = append(lines, fmt.Sprintf("in flight, flow %d", i+1), fl)
		}
	}
	if err := plotutil.AddLines(win, lines...); err != nil {
		return nil, err
	}
	q := make(plotter.XYs, 0, len(tr.Probes))
	for _, s := range tr.Probes {
		if s.At >= 0 {
			q = append(q, plotter.XY{X: s.At.Seconds(), Y: float64(s.RTT-tr.BaseRTT) / 1e6})
		}
	}
	delay := plot.New()
	delay.X.Label.Text = "seconds"
	delay.Y.Label.Text = "queue (probes), ms"
	if err := plotutil.AddLines(delay, "queueing delay", q); err != nil {
		return nil, err
	}
	return []*plot.Plot{win, delay}, nil
}
