package pickle

import (
	"encoding/json"
	"fmt"
)

// convertErr builds an error about the container created at offset off.
func (d *decoder) convertErr(sentinel error, off int, kind, format string, args ...any) error {
	return fmt.Errorf("%w: %s created by opcode %s at offset %d: %s",
		sentinel, kind, opName(d.data[off]), off, fmt.Sprintf(format, args...))
}

// spend charges n against the size budget of the result; kind and off
// name the container being converted (for errors).
func (d *decoder) spend(n, off int, kind string) error {
	d.budget -= n
	if d.budget < 0 {
		return fmt.Errorf("%w: decoded value exceeds the size budget of %d (shared references expand too much); reached in the %s created by opcode %s at offset %d",
			ErrUnsupported, d.budgetTotal, kind, opName(d.data[off]), off)
	}
	return nil
}

// convert turns an intermediate value into its plain Go form. depth is the
// number of containers enclosing v; off is the offset of the opcode that
// created the innermost of them (for errors).
//
// Every reached value costs 1 plus the length of its text or bytes against
// the size budget, so the work done here and the size of the result are
// bounded by a multiple of the input length however much the pickle
// shares values through its memo ("billion laughs"). A container reached
// again while it is being converted is a cycle.
func (d *decoder) convert(v any, depth int) (any, error) {
	return d.convertAt(v, depth, 0)
}

func (d *decoder) convertAt(v any, depth, off int) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, d.spend(1, off, "container")
	case bool:
		return x, d.spend(1, off, "container")
	case string:
		return x, d.spend(1+len(x), off, "container")
	case json.Number:
		return x, d.spend(1+len(x), off, "container")
	case pyFloat:
		return json.Number(x), d.spend(1+len(x), off, "container")
	case []byte:
		return x, d.spend(1+len(x), off, "container")
	case byteArray:
		return []byte(x), d.spend(1+len(x), off, "container")
	case *listNode:
		out, err := d.convertItems(&x.visiting, x.items, x.off, "list", depth)
		if err != nil {
			return nil, err
		}
		return out, nil
	case *tupleNode:
		out, err := d.convertItems(&x.visiting, x.items, x.off, "tuple", depth)
		if err != nil {
			return nil, err
		}
		return Tuple(out), nil
	case *dictNode:
		if err := d.enter(&x.visiting, x.off, "dict", depth); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(x.items))
		// Walk backwards so that the last value set for a key wins, as in
		// Python, and values that were overwritten are never converted.
		for i := len(x.items) - 1; i >= 0; i-- {
			k := x.items[i].key
			if _, dup := out[k]; dup {
				continue
			}
			if err := d.spend(len(k), x.off, "dict"); err != nil {
				return nil, err
			}
			c, err := d.convertAt(x.items[i].val, depth+1, x.off)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		x.visiting = false
		return out, nil
	case *callRef:
		// Unreachable: callables are refused wherever they could become
		// part of the value.
		return nil, fmt.Errorf("%w: %s used as a value", ErrUnsafe, x.fn)
	}
	return nil, fmt.Errorf("%w: internal error: unexpected %T", ErrMalformed, v)
}

// enter checks depth, cycles and budget for a container and marks it as
// being visited.
func (d *decoder) enter(visiting *bool, off int, kind string, depth int) error {
	if depth >= maxDepth {
		return d.convertErr(ErrUnsupported, off, kind, "nested more than %d deep", maxDepth)
	}
	if *visiting {
		return d.convertErr(ErrUnsupported, off, kind, "contains itself (cyclic values are not supported)")
	}
	if err := d.spend(1, off, kind); err != nil {
		return err
	}
	*visiting = true
	return nil
}

func (d *decoder) convertItems(visiting *bool, items []any, off int, kind string, depth int) ([]any, error) {
	if err := d.enter(visiting, off, kind, depth); err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, it := range items {
		c, err := d.convertAt(it, depth+1, off)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	*visiting = false
	return out, nil
}
