package main

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// Shopify's query cost rules for the Admin API: a scalar or enum costs 0, an
// object 1, a connection 2 plus its page size times the cost of one node, a
// mutation 10. The requested cost is worked out before running, from the
// first/last arguments; the actual cost from what came back, and the
// difference is refunded to the bucket.
const (
	mutationCost = 10
	maxQueryCost = 1000
)

// requestedCost is the operation's cost before it runs.
func (op *operation) requestedCost() int {
	if op.def.Operation == ast.Mutation {
		return mutationCost * len(op.fields(op.def.SelectionSet))
	}
	cost := 0
	for _, f := range op.fields(op.def.SelectionSet) {
		cost += op.fieldCost(f)
	}
	return cost
}

func (op *operation) fieldCost(f *ast.Field) int {
	if len(f.SelectionSet) == 0 {
		return 0
	}
	if node := op.connectionNode(f); node != nil {
		return 2 + op.pageSize(f)*(1+op.childrenCost(node))
	}
	if n := op.pageSize(f); n > 0 {
		return n * (1 + op.childrenCost(f.SelectionSet))
	}
	return 1 + op.childrenCost(f.SelectionSet)
}

func (op *operation) childrenCost(set ast.SelectionSet) int {
	cost := 0
	for _, f := range op.fields(set) {
		cost += op.fieldCost(f)
	}
	return cost
}

// connectionNode is the node selection of a connection field (edges { node }
// or nodes), nil for anything else.
func (op *operation) connectionNode(f *ast.Field) ast.SelectionSet {
	for _, c := range op.fields(f.SelectionSet) {
		switch c.Name {
		case "nodes":
			return c.SelectionSet
		case "edges":
			for _, e := range op.fields(c.SelectionSet) {
				if e.Name == "node" {
					return e.SelectionSet
				}
			}
		}
	}
	return nil
}

// pageSize is a field's first or last argument, 0 when it has neither.
func (op *operation) pageSize(f *ast.Field) int {
	args, err := op.args(f)
	if err != nil {
		return 0
	}
	for _, name := range []string{"first", "last"} {
		switch n := args[name].(type) {
		case int64:
			return int(n)
		case float64: // from JSON variables
			return int(n)
		}
	}
	return 0
}

// actualCost is the operation's cost for the answer it produced.
func (op *operation) actualCost(data obj) int {
	if op.def.Operation == ast.Mutation {
		return op.requestedCost()
	}
	return op.valueCost(op.def.SelectionSet, data)
}

// valueCost adds up the objects and connections of the selected fields of v.
func (op *operation) valueCost(set ast.SelectionSet, v obj) int {
	cost := 0
	for _, f := range op.fields(set) {
		if len(f.SelectionSet) == 0 || v == nil {
			continue
		}
		val := v[f.Alias]
		if val == nil {
			continue
		}
		if node := op.connectionNode(f); node != nil {
			cost += 2
			conn, _ := val.(obj)
			items, _ := conn["nodes"].([]any)
			if edges, ok := conn["edges"].([]any); ok {
				items = items[:0]
				for _, e := range edges {
					eo, _ := e.(obj)
					items = append(items, eo["node"])
				}
			}
			for _, it := range items {
				n, _ := it.(obj)
				cost += 1 + op.valueCost(node, n)
			}
			continue
		}
		switch val := val.(type) {
		case []any:
			for _, it := range val {
				n, _ := it.(obj)
				cost += 1 + op.valueCost(f.SelectionSet, n)
			}
		case obj:
			cost += 1 + op.valueCost(f.SelectionSet, val)
		}
	}
	return cost
}
