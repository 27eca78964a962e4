package main

import (
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plots draws the report's figures as PNG files into dir.
func (rep report) plots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bars := []struct {
		file, scenario, title, ylabel string
		f                             func(result) float64
	}{
		{"bulk.png", "bulk", "Bulk, one connection, loopback", "MB/s", mbps},
		{"fanout.png", "fanout", "Fan-out, 64 connections at once", "aggregate MB/s", mbps},
		{"setup.png", "setup", "Dial + 1-byte echo + close", "connections/s", setupRate},
	}
	for _, bc := range bars {
		impls := rep.implsOf(bc.scenario)
		if len(impls) == 0 {
			continue
		}
		vals := make(plotter.Values, len(impls))
		for i, name := range impls {
			if bc.scenario == "setup" {
				vals[i], _ = rep.med(bc.scenario, name, "", bc.f)
			} else {
				vals[i], _, _ = rep.goodput(bc.scenario, name, "") // timed-out runs by what they moved
			}
		}
		if err := barPlot(filepath.Join(dir, bc.file), bc.title, bc.ylabel, impls, []string{""}, []plotter.Values{vals}); err != nil {
			return err
		}
	}
	if impls := rep.implsOf("pingpong"); len(impls) > 0 {
		series := []plotter.Values{make(plotter.Values, len(impls)), make(plotter.Values, len(impls))}
		for i, name := range impls {
			series[0][i], _ = rep.med("pingpong", name, "", p50)
			series[1][i], _ = rep.med("pingpong", name, "", p99)
		}
		if err := barPlot(filepath.Join(dir, "pingpong.png"), "1-byte ping-pong", "µs", impls, []string{"p50", "p99"}, series); err != nil {
			return err
		}
	}
	if impls := rep.implsOf("lossy"); len(impls) > 0 {
		var names []string
		var series []plotter.Values
		for _, p := range lossProfiles {
			names = append(names, p.name)
			vals := make(plotter.Values, len(impls))
			for i, name := range impls {
				vals[i], _, _ = rep.goodput("lossy", name, p.name)
			}
			series = append(series, vals)
		}
		if err := barPlot(filepath.Join(dir, "lossy.png"), "16 MiB through a lossy relay (10 ms each way)", "goodput MB/s", impls, names, series); err != nil {
			return err
		}
	}
	if len(rep.INET256) > 0 {
		tops := []string{"two-daemons", "one-daemon"}
		series := []plotter.Values{make(plotter.Values, 2), make(plotter.Values, 2)}
		for i, top := range tops {
			series[0][i], _ = rep.inetMedian(top, func(r inetResult) float64 { return r.UTPMBps })
			series[1][i], _ = rep.inetMedian(top, func(r inetResult) float64 { return r.RawMBps })
		}
		if err := barPlot(filepath.Join(dir, "inet256.png"), "INET256: uTP beside an ideal window-of-8 sender", "MB/s", tops, []string{"uTP", "raw"}, series); err != nil {
			return err
		}
	}
	if rep.LEDBAT != nil && len(rep.LEDBAT.T) > 0 {
		return ledbatPlot(filepath.Join(dir, "ledbat.png"), rep.LEDBAT)
	}
	return nil
}

// barPlot draws groups of bars: one group per x label, one bar per series.
func barPlot(file, title, ylabel string, xs, seriesNames []string, series []plotter.Values) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	width := vg.Points(60 / float64(len(series)))
	for i, vals := range series {
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bc.Color = plotutil.Color(i)
		bc.LineStyle.Width = 0
		bc.Offset = width * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(bc)
		if seriesNames[i] != "" {
			p.Legend.Add(seriesNames[i], bc)
		}
	}
	p.Legend.Top = true
	p.NominalX(xs...)
	return p.Save(vg.Length(110*len(xs)+120), 300, file)
}

// ledbatPlot draws the window above the queuing delay, on one time axis.
func ledbatPlot(file string, tr *ledbatTrace) error {
	xy := func(ys []float64, scale float64) plotter.XYs {
		pts := make(plotter.XYs, len(tr.T))
		for i := range pts {
			pts[i].X, pts[i].Y = tr.T[i], ys[i]*scale
		}
		return pts
	}
	win := plot.New()
	win.Title.Text = "LEDBAT, 10 Mbit/s bottleneck, 400 ms buffer, 40 ms base RTT (netsim)"
	win.Y.Label.Text = "window, KB"
	if err := plotutil.AddLines(win, "congestion window", xy(tr.Window, 1e-3)); err != nil {
		return err
	}
	delay := plot.New()
	delay.X.Label.Text = "seconds"
	delay.Y.Label.Text = "queuing delay, ms"
	target := plotter.XYs{{X: tr.T[0], Y: 100}, {X: tr.T[len(tr.T)-1], Y: 100}}
	if err := plotutil.AddLines(delay, "bottleneck queue", xy(tr.LinkQueue, 1), "sender's estimate", xy(tr.Estimate, 1), "target", target); err != nil {
		return err
	}
	return savePanels(file, []*plot.Plot{win, delay})
}

// savePanels stacks plots on one time axis into a PNG.
func savePanels(file string, panels []*plot.Plot) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = vgimg.PngCanvas{Canvas: drawPanels(panels, 900, 300)}.WriteTo(f)
	return err
}

// drawPanels stacks plots on one time axis, width wide and each panel
// height high, in points.
func drawPanels(panels []*plot.Plot, width, height int) *vgimg.Canvas {
	img := vgimg.New(vg.Length(width), vg.Length(height*len(panels)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: 4, PadBottom: 4, PadX: 4, PadY: 8}
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	return img
}
