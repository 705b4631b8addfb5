package codec

import "fmt"

// Dialect selects the python-socketio message format to write, by the
// version of the servers that will read it.
type Dialect int

const (
	// Current is python-socketio 5.15.1 and later (the default): JSON,
	// data is always the argument list, bytes travel as base64
	// attachments with placeholders and "binary": true.
	Current Dialect = iota
	// V514 is python-socketio 5.14.x to 5.15.0: JSON with raw data (one
	// argument, never several) and, from 5.14.2, the binary flag.
	V514
	// Legacy is python-socketio before 5.14 (pickle senders; their
	// receivers also accept JSON): JSON with raw data. Several arguments,
	// room lists and bytes cannot be expressed and are refused.
	Legacy
)

// String returns the dialect's configuration name.
func (d Dialect) String() string {
	switch d {
	case Current:
		return "current"
	case V514:
		return "v5.14"
	case Legacy:
		return "legacy"
	default:
		return fmt.Sprintf("Dialect(%d)", int(d))
	}
}

// ParseDialect accepts "current", "v5.14" and "legacy" (also "5.14",
// "v5.15.1" style version names: anything < 5.14 is legacy, 5.14.x-5.15.0 is
// v5.14, later is current).
func ParseDialect(s string) (Dialect, error) {
	switch s {
	case "", "current", "latest":
		return Current, nil
	case "v5.14", "5.14":
		return V514, nil
	case "legacy", "pickle":
		return Legacy, nil
	}
	var maj, min, patch int
	v := s
	if len(v) > 0 && (v[0] == 'v' || v[0] == 'V') {
		v = v[1:]
	}
	n, _ := fmt.Sscanf(v, "%d.%d.%d", &maj, &min, &patch)
	if n >= 2 && maj == 5 {
		switch {
		case min < 14:
			return Legacy, nil
		case min == 14 || (min == 15 && patch == 0):
			return V514, nil
		default:
			return Current, nil
		}
	}
	if n >= 2 && maj < 5 {
		return 0, fmt.Errorf("%w: %q: python-socketio before 5.0 is not supported", ErrDialect, s)
	}
	if n >= 2 && maj > 5 {
		return Current, nil
	}
	return 0, fmt.Errorf("%w: unknown dialect %q (want current, v5.14, legacy or a python-socketio version)", ErrDialect, s)
}
