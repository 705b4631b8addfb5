package benchutil

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Micros formats nanoseconds as microseconds; negative means unknown.
func Micros(ns float64) string {
	if ns < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f µs", ns/1000)
}

// Percent formats a fraction (a share of one core); negative means
// unknown.
func Percent(f float64) string {
	if f < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// Thousands formats v rounded, with comma separators.
func Thousands(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// WriteJSON writes v, indented, to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
