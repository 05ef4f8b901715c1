package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"

	"github.com/sluice-events/sluice/event"
)

// instruments are the GenAI client metrics of the conventions. Tool calls
// are recorded in gen_ai.client.operation.duration with the operation name
// execute_tool and the tool's name; a failed tool call carries error.type.
type instruments struct {
	tokens   genaiconv.ClientTokenUsage
	duration genaiconv.ClientOperationDuration
	ttfc     genaiconv.ClientOperationTimeToFirstChunk
	chunkGap genaiconv.ClientOperationTimePerOutputChunk
}

// Bucket boundaries advised by the GenAI conventions.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	chunkBuckets    = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
)

func newInstruments(m metric.Meter) (instruments, error) {
	var (
		in  instruments
		err error
	)
	if in.tokens, err = genaiconv.NewClientTokenUsage(m, metric.WithExplicitBucketBoundaries(tokenBuckets...)); err != nil {
		return in, err
	}
	if in.duration, err = genaiconv.NewClientOperationDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return in, err
	}
	if in.ttfc, err = genaiconv.NewClientOperationTimeToFirstChunk(m, metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return in, err
	}
	if in.chunkGap, err = genaiconv.NewClientOperationTimePerOutputChunk(m, metric.WithExplicitBucketBoundaries(chunkBuckets...)); err != nil {
		return in, err
	}
	return in, nil
}

func (in *instruments) call(ctx context.Context, seconds float64, u event.Usage, prov, reqModel, respModel, errType string) {
	attrs := make([]attribute.KeyValue, 0, 3)
	if reqModel != "" {
		attrs = append(attrs, semconv.GenAIRequestModelKey.String(reqModel))
	}
	if respModel != "" {
		attrs = append(attrs, semconv.GenAIResponseModelKey.String(respModel))
	}
	op, p := genaiconv.OperationNameChat, genaiconv.ProviderNameAttr(prov)
	if errType == "" {
		if u.InputTokens != 0 || u.OutputTokens != 0 {
			in.tokens.Record(ctx, u.InputTokens, op, p, genaiconv.TokenTypeInput, attrs...)
			in.tokens.Record(ctx, u.OutputTokens, op, p, genaiconv.TokenTypeOutput, attrs...)
		}
	} else {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
	}
	in.duration.Record(ctx, seconds, op, p, attrs...)
}

func (in *instruments) tool(ctx context.Context, seconds float64, name, errType string) {
	if !in.duration.Enabled(ctx) {
		return
	}
	attrs := []attribute.KeyValue{semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolNameKey.String(name)}
	if errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
	}
	in.duration.Float64Histogram.Record(ctx, seconds, metric.WithAttributes(attrs...))
}
