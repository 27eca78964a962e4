package main

import (
	"cmp"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"github.com/inet256/go-utp/v2/e2e/realpath"
)

// rpBin is the span over which the plots take the probes' median: 100
// probes a second drawn one by one make a band of scheduler noise (and a
// large file) rather than a line.
const rpBin = 100 * time.Millisecond

// The real-path plots are smaller than the loopback suite's, and
// paletted: four of them sit in the docs, and a paletted PNG of a few
// lines is a quarter of the size of a full-colour one.
const (
	rpPlotWidth   = 720 // points
	rpPanelHeight = 230
)

// rpPlots draws, before and after, the latecomer scenario's windows and
// queue, and the 100 Mbit/s, 100 ms path's window, bytes in flight and
// queue, each from the round whose figure is the median.
func rpPlots(dir string, all []rpResults) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range []struct{ name, role string }{{rpBeforeName(), "before"}, {"utp", "after"}} {
		r := rpMedianRound(all, func(r rpResults) float64 { return r.late[c.name].Jain })
		tr := r.late[c.name].Trace
		title := fmt.Sprintf("%s. A second flow at %v; %v", rpRole(c.role), rpLateJoin, tr.Config)
		if err := rpSavePanels(filepath.Join(dir, "realpath-latecomer-"+c.role+".png"), rpPanels(title, tr, false)); err != nil {
			return err
		}
		r = rpMedianRound(all, func(r rpResults) float64 { return r.longFat[c.name].Rate })
		tr = r.longFat[c.name].Trace
		title = fmt.Sprintf("%s. %v", rpRole(c.role), tr.Config)
		if err := rpSavePanels(filepath.Join(dir, "realpath-longfat-"+c.role+".png"), rpPanels(title, tr, true)); err != nil {
			return err
		}
	}
	return nil
}

// rpPanels draws a trace: each flow's window (and, with inFlight, its
// bytes in flight) above the probes' queueing delay.
func rpPanels(title string, tr *realpath.Trace, inFlight bool) []*plot.Plot {
	win := plot.New()
	win.Title.Text = title
	win.Y.Label.Text = "KB"
	win.X.Min, win.X.Max = 0, tr.Duration.Seconds()
	win.Legend.Top = true
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
	// AddLines fails only on arguments of the wrong type.
	must(plotutil.AddLines(win, lines...))
	delay := plot.New()
	delay.X.Label.Text = "seconds"
	delay.X.Min, delay.X.Max = 0, tr.Duration.Seconds()
	delay.Y.Label.Text = fmt.Sprintf("queue, ms (median per %v)", rpBin)
	delay.Legend.Top = true
	must(plotutil.AddLines(delay, "queueing delay (probes)", rpQueueBins(tr)))
	return []*plot.Plot{win, delay}
}

// rpQueueBins is the probes' queueing delay from the run's start, as the
// median of each rpBin.
func rpQueueBins(tr *realpath.Trace) plotter.XYs {
	probes := slices.Clone(tr.Probes)
	slices.SortFunc(probes, func(a, b realpath.Sample) int { return cmp.Compare(a.At, b.At) })
	var xy plotter.XYs
	var bin []float64
	start := time.Duration(0)
	flush := func() {
		if len(bin) > 0 {
			slices.Sort(bin)
			xy = append(xy, plotter.XY{X: (start + rpBin/2).Seconds(), Y: bin[len(bin)/2]})
		}
		bin = bin[:0]
	}
	for _, s := range probes {
		if s.At < 0 {
			continue
		}
		if s.At >= start+rpBin {
			flush()
			start = s.At.Truncate(rpBin)
		}
		bin = append(bin, float64(s.RTT-tr.BaseRTT)/1e6)
	}
	flush()
	return xy
}

// rpSavePanels stacks plots into a paletted PNG (Plan 9's 256 colours
// hold the plots' few colours and their anti-aliased edges).
func rpSavePanels(file string, panels []*plot.Plot) error {
	img := drawPanels(panels, rpPlotWidth, rpPanelHeight).Image()
	pal := image.NewPaletted(img.Bounds(), palette.Plan9)
	draw.Draw(pal, pal.Rect, img, img.Bounds().Min, draw.Src)
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, pal); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
