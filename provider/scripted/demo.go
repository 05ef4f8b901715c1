package scripted

import (
	"embed"
)

//go:embed transcripts/*.sse
var transcripts embed.FS

// WeatherAgent returns the transcripts of a two-call agent run in
// Anthropic Messages format, for demos: asked for the weather in Paris, the
// model first thinks, says it will check, and calls the get_weather tool
// with {"city": "Paris", "unit": "celsius"} (stop reason tool_use); given
// the tool's result, it then answers in text (end_turn).
//
// The tool call's ID is WeatherToolCallID; the demo's tool should answer
// it with the weather, such as {"temp_c": 18, "sky": "partly cloudy"}.
func WeatherAgent() []Transcript {
	return []Transcript{
		mustEmbedded("transcripts/weather_1_tool_use.sse"),
		mustEmbedded("transcripts/weather_2_answer.sse"),
	}
}

// WeatherToolCallID is the ID of the get_weather call in WeatherAgent.
const WeatherToolCallID = "toolu_01WeatherParis7fK2"

func mustEmbedded(name string) Transcript {
	t, err := LoadFS(transcripts, name)
	if err != nil {
		panic(err) // embedded files are checked by the tests
	}
	return t
}
