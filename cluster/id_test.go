package cluster

import "testing"

func TestAfterOrdersDeliveryIDs(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"1-0", "", true},
		{"1700000000000-1", "1700000000000-0", true},
		{"1700000000000-0", "1700000000000-0", false},
		{"1700000000000-0", "1700000000001-0", false},
		{"1700000000000-0-5", "1700000000000-0-4", true}, // in a Redis pack
		{"1700000000000-0-4", "1700000000000-0-4", false},
		{"1700000000000-1-0", "1700000000000-0-9", true},
		{"1700000000000-0-0", "1700000000000-0", false}, // the same place
		{"42", "41", true},
		{"42-3", "42-2", true}, // in a JetStream pack
		{"42-0", "42", false},
		{"43", "42-9", true},
		{"uuid-like-id-here", "42", true}, // not comparable: delivered
		{"1-2-3-4", "1", true},
	}
	for _, c := range cases {
		if got := after(c.a, c.b); got != c.want {
			t.Errorf("after(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
