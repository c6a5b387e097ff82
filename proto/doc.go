// Package proto holds the .proto definitions of the messages that cross
// nodes; the generated Go code is in proto/clusterpb (`make proto`).
package proto
