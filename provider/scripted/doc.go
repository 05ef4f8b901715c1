// Package scripted is a provider without a network: a local HTTP server
// that replays recorded provider streams (transcripts), paced as a model
// streams, so that the official SDKs and the Sluice adapters run for real
// in demos and tests.
//
// Start a server with the transcripts of a run, one per model call, point
// the SDK's client at its URL, and call the adapter as you would against
// the provider:
//
//	srv := scripted.NewServer(scripted.WeatherAgent(), scripted.Speed(1))
//	defer srv.Close()
//	client := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("scripted"))
//	res, err := sluiceanthropic.Stream(ctx, em, &client.Messages, params)
//
// Transcripts are server-sent-event bodies exactly as the providers send
// them; comment lines may add pauses, stalls and error statuses (see
// Parse). Speed scales the pauses; Speed(0) replays at once, for tests.
package scripted
