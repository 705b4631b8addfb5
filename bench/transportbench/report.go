package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
)

// printReport writes the table, the target's checks and where the CPU
// went.
func printReport(w io.Writer, rep *report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nsockgate transport throughput, %s\n", rep.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d) %s, %s, %s; redis-server %s and nats-server %s on 127.0.0.1\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.OS, m.Go, m.Redis, m.NATS)
	if m.LoadStart >= 0 {
		fmt.Fprintf(w, "load average: %.2f at the start, %.2f at the end", m.LoadStart, m.LoadEnd)
		if m.LoadStart > 0.5*float64(m.CPUs) {
			fmt.Fprint(w, " (the machine was busy: rates are low and ratios noisy)")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "payload: %d bytes, one encoded EmitToUser of a small struct; Worker rows: WaitIfFull, timed until Flush returned\n\n",
		rep.PayloadBytes)

	ceil := map[string]ceiling{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "transport\tproducers\tmsgs/s\tvs broker ceiling\tvs redis pub/sub Worker\t")
	for _, c := range rep.Ceilings {
		ceil[c.Key] = c
		fmt.Fprintf(tw, "ceiling: %s (%s)\t\t%s\t1.00\t\t\n", c.Name, c.Tool, benchutil.Thousands(c.Rate))
	}
	kind := ""
	for _, r := range rep.Rows {
		if r.Kind != kind {
			fmt.Fprintln(tw, "\t\t\t\t\t")
			kind = r.Kind
		}
		vsCeil, vsRedis := "", ratio(r.VsRedis)
		if c, ok := ceil[r.Ceiling]; ok {
			vsCeil = ratio(r.VsCeiling) + " of " + shortName[c.Key]
		}
		rate := benchutil.Thousands(r.Rate)
		if r.Dropped > 0 || r.Published != uint64(r.Count) {
			rate += fmt.Sprintf(" (%d of %d published, %d dropped)", r.Published, r.Count, r.Dropped)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", r.Label, r.Producers, rate, vsCeil, vsRedis)
	}
	tw.Flush()

	fmt.Fprintf(w, "\ntarget: redis-streams and jetstream Worker throughput within 2x of redis pub/sub (ratio >= %.2f)\n", targetRatio)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", c.Name, c.Value, c.Target, passFail(c.Pass))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nwhere the CPU went (this process's CPU per message; the broker's share of one core):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tproducers\tmessages\tseconds\tclient CPU/msg\tbroker busy\tpublished\tdropped\tfailed\tPublish calls\tmean batch\t")
	for _, c := range rep.Ceilings {
		fmt.Fprintf(tw, "ceiling: %s\t\t%d\t%.2f\t%s\t%s\t\t\t\t\t\t\n", c.Name, c.Count, c.Seconds, benchutil.Micros(c.ClientCPUPerMsg), benchutil.Percent(c.BrokerBusy))
	}
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%s\t%s\t%d\t%d\t%d\t%d\t%.0f\t\n", r.Label, r.Producers, r.Count, r.Seconds,
			benchutil.Micros(r.CPUPerMsg), benchutil.Percent(r.BrokerBusy), r.Published, r.Dropped, r.Failed, r.Publishes, r.MeanBatch)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nceilings:")
	for _, c := range rep.Ceilings {
		fmt.Fprintf(w, "  %s: %s\n", c.Name, c.Command)
	}
	fmt.Fprintf(w, "ceilings count broker messages (PUBLISHes, stream entries, JetStream messages); redisstream and jetstream pack\n"+
		"  the messages of a Publish call into few entries or JetStream messages, so their rows can exceed 1.00.\n")
	fmt.Fprintf(w, "raw rows: no Worker; batches of %d copies of the payload from each goroutine to one stream. redisstream Publish\n"+
		"  packs a batch into few entries and pipelines their XADDs in one round trip; PublishIdempotent runs one script per\n"+
		"  batch (what a Worker uses); watermill-redisstream's Publisher sends one XADD round trip per message, each a\n"+
		"  watermill message with a fresh UUID.\n",
		rep.RawBatch)
}

// shortName names a ceiling in the ratio column.
var shortName = map[string]string{
	ceilPublish: "PUBLISH", ceilXAdd: "XADD", ceilNATS: "NATS publish",
	ceilJS: "JetStream publish", ceilJSMsgID: "JetStream publish + Msg-Id",
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// ratio formats a ratio; zero means there is none.
func ratio(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", v)
}
