package main

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/sockgate/sockgate/bench/benchutil"
)

// renderSVG draws three panels side by side: max fan-out deliveries/s,
// RSS per 1k clients (both bars, one per server, with the target as a
// dashed line) and the latency CDF at the steady rate (log-scale x).
func renderSVG(rep *report) string {
	const (
		w, h       = 960, 400
		panelW     = 290
		top, plotH = 90, 235
	)
	colors := map[string]string{"ours": "#1f77b4", "node": "#d62728"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n", w/2,
		esc(fmt.Sprintf("Socket.IO fan-out to %d websocket clients, ~%d-byte events, server on one core", rep.Setup.Clients, rep.Setup.EventBytes)))
	fmt.Fprintf(&b, `<text x="%d" y="40" text-anchor="middle" fill="#555">%s</text>`+"\n", w/2,
		esc(fmt.Sprintf("%s, %s; load average %.2f at start", rep.Time.Format("2006-01-02 15:04 UTC"), rep.Machine.CPUModel, rep.Machine.LoadStart)))

	var measured []serverResult
	for _, s := range rep.Servers {
		if s.Skipped == "" {
			measured = append(measured, s)
		}
	}
	// Legend.
	for i, s := range measured {
		x := 20 + i*220
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			x, h-22, colors[s.Name], x+18, h-12, esc(s.Label))
	}

	type bar struct {
		name  string
		value float64
		text  string
	}
	heading := func(x0 int, title, sub string) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x0+panelW/2, top-20, esc(title))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#2ca02c" font-size="11">%s</text>`+"\n", x0+panelW/2, top-6, esc(sub))
	}
	barPanel := func(x0 int, title string, bars []bar, target float64, targetText string) {
		heading(x0, title, targetText)
		maxV := target
		for _, br := range bars {
			maxV = math.Max(maxV, br.value)
		}
		if maxV <= 0 {
			maxV = 1
		}
		maxV *= 1.15
		base := top + plotH
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0+20, base, x0+panelW-10, base)
		bw := 70
		for i, br := range bars {
			x := x0 + 50 + i*(bw+40)
			bh := int(float64(plotH) * br.value / maxV)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x, base-bh, bw, bh, colors[br.name])
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", x+bw/2, base-bh-5, esc(br.text))
		}
		if target > 0 {
			y := base - int(float64(plotH)*target/maxV)
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#2ca02c" stroke-dasharray="5,4"/>`+"\n", x0+20, y, x0+panelW-10, y)
		}
	}

	// Panel 1: deliveries/s; the target is 5x Node's.
	var bars []bar
	var nodeRate float64
	for _, s := range measured {
		if s.Median == nil {
			continue
		}
		if s.Name == "node" {
			nodeRate = s.Median.Rate
		}
		bars = append(bars, bar{s.Name, s.Median.Rate, benchutil.Thousands(s.Median.Rate) + "/s"})
	}
	barPanel(10, "max fan-out, deliveries/s", bars, targetRatio*nodeRate, fmt.Sprintf("dashed: target, %.0fx Node", targetRatio))

	// Panel 2: RSS per 1k clients.
	bars = bars[:0]
	for _, s := range measured {
		bars = append(bars, bar{s.Name, s.RSSPer1k / (1 << 20), mib(int64(s.RSSPer1k))})
	}
	barPanel(10+panelW+20, "RSS per 1k connected clients, MB", bars, targetRSSPer1k/(1<<20), "dashed: target, "+mib(targetRSSPer1k))

	// Panel 3: latency CDF, log x from 0.1 ms up to a decade above the max.
	x0 := 10 + 2*(panelW+20)
	heading(x0, fmt.Sprintf("latency CDF at %d events/s", rep.Setup.Rate), "dashed: p99 target, "+targetP99.String())
	left, right := x0+40, x0+panelW-10
	base := top + plotH
	lo, hi := -1.0, 1.0 // log10 ms
	for _, s := range measured {
		if s.Steady != nil && s.Steady.MaxMs > 0 {
			hi = math.Max(hi, math.Ceil(math.Log10(s.Steady.MaxMs)))
			if s.Steady.P50Ms > 0 {
				lo = math.Min(lo, math.Floor(math.Log10(math.Max(s.Steady.CDF[0].Ms, 0.001))))
			}
		}
	}
	xOf := func(ms float64) float64 {
		v := math.Log10(math.Max(ms, math.Pow(10, lo)))
		return float64(left) + (v-lo)/(hi-lo)*float64(right-left)
	}
	yOf := func(q float64) float64 { return float64(base) - q*float64(plotH) }
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, base, right, base)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, base, left, top)
	for d := lo; d <= hi; d++ {
		x := xOf(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, top, x, base)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, base+15, esc(fmtMs(math.Pow(10, d))))
	}
	for _, q := range []float64{0, 0.25, 0.5, 0.75, 1} {
		y := yOf(q)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", left-4, y+4, q)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="2,2"/>`+"\n", left, yOf(0.99), right, yOf(0.99))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#999" font-size="10">p99</text>`+"\n", right, yOf(0.99)+10)
	tx := xOf(float64(targetP99) / 1e6)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#2ca02c" stroke-dasharray="5,4"/>`+"\n", tx, top, tx, base)
	for _, s := range measured {
		if s.Steady == nil || len(s.Steady.CDF) == 0 {
			continue
		}
		var pts []string
		prevQ := 0.0
		for _, p := range s.Steady.CDF {
			x := xOf(p.Ms)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x, yOf(prevQ), x, yOf(p.Q)))
			prevQ = p.Q
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[s.Name], strings.Join(pts, " "))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">latency (log scale)</text>`+"\n", (left+right)/2, base+32)
	b.WriteString("</svg>\n")
	return b.String()
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%g s", ms/1000)
	case ms >= 1:
		return fmt.Sprintf("%g ms", ms)
	default:
		return fmt.Sprintf("%g µs", ms*1000)
	}
}

func esc(s string) string { return html.EscapeString(s) }
