// Code generated from the catalog table; edit freely, keep in step with catalog_spec.go.

package event

// The type names of the built-in catalog.
const (
	TypePipelineStarted              Type = "pipeline.started"
	TypePipelineCompleted            Type = "pipeline.completed"
	TypePipelineFailed               Type = "pipeline.failed"
	TypeMiddlewareStarted            Type = "middleware.started"
	TypeMiddlewareCompleted          Type = "middleware.completed"
	TypeMiddlewareFailed             Type = "middleware.failed"
	TypeMiddlewareCustom             Type = "middleware.custom"
	TypeStageStarted                 Type = "stage.started"
	TypeStageCompleted               Type = "stage.completed"
	TypeStageFailed                  Type = "stage.failed"
	TypeProviderCallStarted          Type = "provider.call.started"
	TypeProviderCallCompleted        Type = "provider.call.completed"
	TypeProviderCallFailed           Type = "provider.call.failed"
	TypeMessageStarted               Type = "message.started"
	TypeMessageStopped               Type = "message.stopped"
	TypeBlockStarted                 Type = "message.block.started"
	TypeBlockStopped                 Type = "message.block.stopped"
	TypeTextDelta                    Type = "message.text.delta"
	TypeTextCompleted                Type = "message.text.completed"
	TypeThinkingDelta                Type = "message.thinking.delta"
	TypeThinkingCompleted            Type = "message.thinking.completed"
	TypeUsageReported                Type = "message.usage"
	TypeCitation                     Type = "message.citation"
	TypeStreamInterrupted            Type = "stream.interrupted"
	TypeStreamError                  Type = "stream.error"
	TypeToolCallRequested            Type = "tool.call.requested"
	TypeToolCallDelta                Type = "tool.call.delta"
	TypeToolCallStarted              Type = "tool.call.started"
	TypeToolCallCompleted            Type = "tool.call.completed"
	TypeToolCallFailed               Type = "tool.call.failed"
	TypeClientToolRequested          Type = "tool.client.request"
	TypeClientToolResolved           Type = "tool.client.resolved"
	TypeWebSearchStarted             Type = "tool.web_search.started"
	TypeWebSearchProgress            Type = "tool.web_search.progress"
	TypeWebSearchCompleted           Type = "tool.web_search.completed"
	TypeFileSearchStarted            Type = "tool.file_search.started"
	TypeFileSearchProgress           Type = "tool.file_search.progress"
	TypeFileSearchCompleted          Type = "tool.file_search.completed"
	TypeSearchResults                Type = "tool.search.results"
	TypeCodeInterpreterStarted       Type = "tool.code_interpreter.started"
	TypeCodeInterpreterProgress      Type = "tool.code_interpreter.progress"
	TypeCodeInterpreterCompleted     Type = "tool.code_interpreter.completed"
	TypeMCPCallStarted               Type = "tool.mcp.call.started"
	TypeMCPCallProgress              Type = "tool.mcp.call.progress"
	TypeMCPCallCompleted             Type = "tool.mcp.call.completed"
	TypeMCPCallFailed                Type = "tool.mcp.call.failed"
	TypeMCPListStarted               Type = "tool.mcp.list.started"
	TypeMCPListCompleted             Type = "tool.mcp.list.completed"
	TypeMCPListFailed                Type = "tool.mcp.list.failed"
	TypeImageGenerationStarted       Type = "tool.image_generation.started"
	TypeImageGenerationProgress      Type = "tool.image_generation.progress"
	TypeImageGenerationCompleted     Type = "tool.image_generation.completed"
	TypeValidationStarted            Type = "validation.started"
	TypeValidationPassed             Type = "validation.passed"
	TypeValidationFailed             Type = "validation.failed"
	TypeContextBuilt                 Type = "context.built"
	TypeContextTokenBudgetExceeded   Type = "context.token_budget_exceeded"
	TypeContextCompacted             Type = "context.compacted"
	TypeStateLoaded                  Type = "state.loaded"
	TypeStateSaved                   Type = "state.saved"
	TypeStateSnapshot                Type = "state.snapshot"
	TypeStateDelta                   Type = "state.delta"
	TypeConversationStarted          Type = "conversation.started"
	TypeMessageCreated               Type = "message.created"
	TypeMessageUpdated               Type = "message.updated"
	TypeAudioInput                   Type = "audio.input"
	TypeAudioOutput                  Type = "audio.output"
	TypeAudioTranscription           Type = "audio.transcription"
	TypeVideoFrame                   Type = "video.frame"
	TypeScreenshot                   Type = "video.screenshot"
	TypeImageInput                   Type = "image.input"
	TypeImageOutput                  Type = "image.output"
	TypeMediaStored                  Type = "media.stored"
	TypeMediaRetrieved               Type = "media.retrieved"
	TypeMediaDeleted                 Type = "media.deleted"
	TypeMediaStoreFailed             Type = "media.store_error"
	TypeCapabilityCallStarted        Type = "capability.call.started"
	TypeCapabilityCallCompleted      Type = "capability.call.completed"
	TypeCapabilityCallFailed         Type = "capability.call.failed"
	TypeEvalCompleted                Type = "eval.completed"
	TypeEvalFailed                   Type = "eval.failed"
	TypeWorkflowTransitioned         Type = "workflow.transitioned"
	TypeWorkflowCompleted            Type = "workflow.completed"
	TypeWorkflowMaxVisitsExceeded    Type = "workflow.max_visits_exceeded"
	TypeWorkflowBudgetExhausted      Type = "workflow.budget_exhausted"
	TypeTemplateStarted              Type = "prompt.template.started"
	TypeTemplateRendered             Type = "prompt.template.rendered"
	TypeTemplateFailed               Type = "prompt.template.failed"
	TypeCompositionStarted           Type = "composition.started"
	TypeCompositionCompleted         Type = "composition.completed"
	TypeCompositionStepStarted       Type = "composition.step.started"
	TypeCompositionStepCompleted     Type = "composition.step.completed"
	TypeCompositionBranchEvaluated   Type = "composition.branch.evaluated"
	TypeCompositionParallelCompleted Type = "composition.parallel.completed"
	TypeRunStarted                   Type = "run.started"
	TypeRunCompleted                 Type = "run.completed"
	TypeRunStopped                   Type = "run.stopped"
	TypeRunFailed                    Type = "run.failed"
	TypeRunInterrupted               Type = "run.interrupted"
	TypeRunResumed                   Type = "run.resumed"
	TypeRunHeartbeat                 Type = "run.heartbeat"
	TypeLog                          Type = "agent.log"
	TypeInfo                         Type = "agent.info"
	TypeStatus                       Type = "agent.status"
	TypeModeSwitched                 Type = "agent.mode.switched"
	TypeDropped                      Type = "delivery.dropped"
	TypeDebuggerPaused               Type = "agent.debugger.paused"
	TypeExtractBlockStarted          Type = "extract.block.started"
	TypeExtractBlockSnapshot         Type = "extract.block.snapshot"
	TypeExtractBlockCompleted        Type = "extract.block.completed"
	TypeExtractBlockMalformed        Type = "extract.block.malformed"
	TypeCostBudgetExceeded           Type = "guard.cost_budget_exceeded"
	TypeLoopDetected                 Type = "guard.loop_detected"
	TypeCircuitOpened                Type = "guard.circuit_opened"
	TypeCircuitClosed                Type = "guard.circuit_closed"
	TypeSpan                         Type = "trace.span"
)

// EventType implements Payload.
func (PipelineStarted) EventType() Type { return TypePipelineStarted }

// EventType implements Payload.
func (PipelineCompleted) EventType() Type { return TypePipelineCompleted }

// EventType implements Payload.
func (PipelineFailed) EventType() Type { return TypePipelineFailed }

// EventType implements Payload.
func (MiddlewareStarted) EventType() Type { return TypeMiddlewareStarted }

// EventType implements Payload.
func (MiddlewareCompleted) EventType() Type { return TypeMiddlewareCompleted }

// EventType implements Payload.
func (MiddlewareFailed) EventType() Type { return TypeMiddlewareFailed }

// EventType implements Payload.
func (MiddlewareCustom) EventType() Type { return TypeMiddlewareCustom }

// EventType implements Payload.
func (StageStarted) EventType() Type { return TypeStageStarted }

// EventType implements Payload.
func (StageCompleted) EventType() Type { return TypeStageCompleted }

// EventType implements Payload.
func (StageFailed) EventType() Type { return TypeStageFailed }

// EventType implements Payload.
func (ProviderCallStarted) EventType() Type { return TypeProviderCallStarted }

// EventType implements Payload.
func (ProviderCallCompleted) EventType() Type { return TypeProviderCallCompleted }

// EventType implements Payload.
func (ProviderCallFailed) EventType() Type { return TypeProviderCallFailed }

// EventType implements Payload.
func (MessageStarted) EventType() Type { return TypeMessageStarted }

// EventType implements Payload.
func (MessageStopped) EventType() Type { return TypeMessageStopped }

// EventType implements Payload.
func (BlockStarted) EventType() Type { return TypeBlockStarted }

// EventType implements Payload.
func (BlockStopped) EventType() Type { return TypeBlockStopped }

// EventType implements Payload.
func (TextDelta) EventType() Type { return TypeTextDelta }

// EventType implements Payload.
func (TextCompleted) EventType() Type { return TypeTextCompleted }

// EventType implements Payload.
func (ThinkingDelta) EventType() Type { return TypeThinkingDelta }

// EventType implements Payload.
func (ThinkingCompleted) EventType() Type { return TypeThinkingCompleted }

// EventType implements Payload.
func (UsageReported) EventType() Type { return TypeUsageReported }

// EventType implements Payload.
func (Citation) EventType() Type { return TypeCitation }

// EventType implements Payload.
func (StreamInterrupted) EventType() Type { return TypeStreamInterrupted }

// EventType implements Payload.
func (StreamError) EventType() Type { return TypeStreamError }

// EventType implements Payload.
func (ToolCallRequested) EventType() Type { return TypeToolCallRequested }

// EventType implements Payload.
func (ToolCallDelta) EventType() Type { return TypeToolCallDelta }

// EventType implements Payload.
func (ToolCallStarted) EventType() Type { return TypeToolCallStarted }

// EventType implements Payload.
func (ToolCallCompleted) EventType() Type { return TypeToolCallCompleted }

// EventType implements Payload.
func (ToolCallFailed) EventType() Type { return TypeToolCallFailed }

// EventType implements Payload.
func (ClientToolRequested) EventType() Type { return TypeClientToolRequested }

// EventType implements Payload.
func (ClientToolResolved) EventType() Type { return TypeClientToolResolved }

// EventType implements Payload.
func (WebSearchStarted) EventType() Type { return TypeWebSearchStarted }

// EventType implements Payload.
func (WebSearchProgress) EventType() Type { return TypeWebSearchProgress }

// EventType implements Payload.
func (WebSearchCompleted) EventType() Type { return TypeWebSearchCompleted }

// EventType implements Payload.
func (FileSearchStarted) EventType() Type { return TypeFileSearchStarted }

// EventType implements Payload.
func (FileSearchProgress) EventType() Type { return TypeFileSearchProgress }

// EventType implements Payload.
func (FileSearchCompleted) EventType() Type { return TypeFileSearchCompleted }

// EventType implements Payload.
func (SearchResults) EventType() Type { return TypeSearchResults }

// EventType implements Payload.
func (CodeInterpreterStarted) EventType() Type { return TypeCodeInterpreterStarted }

// EventType implements Payload.
func (CodeInterpreterProgress) EventType() Type { return TypeCodeInterpreterProgress }

// EventType implements Payload.
func (CodeInterpreterCompleted) EventType() Type { return TypeCodeInterpreterCompleted }

// EventType implements Payload.
func (MCPCallStarted) EventType() Type { return TypeMCPCallStarted }

// EventType implements Payload.
func (MCPCallProgress) EventType() Type { return TypeMCPCallProgress }

// EventType implements Payload.
func (MCPCallCompleted) EventType() Type { return TypeMCPCallCompleted }

// EventType implements Payload.
func (MCPCallFailed) EventType() Type { return TypeMCPCallFailed }

// EventType implements Payload.
func (MCPListStarted) EventType() Type { return TypeMCPListStarted }

// EventType implements Payload.
func (MCPListCompleted) EventType() Type { return TypeMCPListCompleted }

// EventType implements Payload.
func (MCPListFailed) EventType() Type { return TypeMCPListFailed }

// EventType implements Payload.
func (ImageGenerationStarted) EventType() Type { return TypeImageGenerationStarted }

// EventType implements Payload.
func (ImageGenerationProgress) EventType() Type { return TypeImageGenerationProgress }

// EventType implements Payload.
func (ImageGenerationCompleted) EventType() Type { return TypeImageGenerationCompleted }

// EventType implements Payload.
func (ValidationStarted) EventType() Type { return TypeValidationStarted }

// EventType implements Payload.
func (ValidationPassed) EventType() Type { return TypeValidationPassed }

// EventType implements Payload.
func (ValidationFailed) EventType() Type { return TypeValidationFailed }

// EventType implements Payload.
func (ContextBuilt) EventType() Type { return TypeContextBuilt }

// EventType implements Payload.
func (ContextTokenBudgetExceeded) EventType() Type { return TypeContextTokenBudgetExceeded }

// EventType implements Payload.
func (ContextCompacted) EventType() Type { return TypeContextCompacted }

// EventType implements Payload.
func (StateLoaded) EventType() Type { return TypeStateLoaded }

// EventType implements Payload.
func (StateSaved) EventType() Type { return TypeStateSaved }

// EventType implements Payload.
func (StateSnapshot) EventType() Type { return TypeStateSnapshot }

// EventType implements Payload.
func (StateDelta) EventType() Type { return TypeStateDelta }

// EventType implements Payload.
func (ConversationStarted) EventType() Type { return TypeConversationStarted }

// EventType implements Payload.
func (MessageCreated) EventType() Type { return TypeMessageCreated }

// EventType implements Payload.
func (MessageUpdated) EventType() Type { return TypeMessageUpdated }

// EventType implements Payload.
func (AudioInput) EventType() Type { return TypeAudioInput }

// EventType implements Payload.
func (AudioOutput) EventType() Type { return TypeAudioOutput }

// EventType implements Payload.
func (AudioTranscription) EventType() Type { return TypeAudioTranscription }

// EventType implements Payload.
func (VideoFrame) EventType() Type { return TypeVideoFrame }

// EventType implements Payload.
func (Screenshot) EventType() Type { return TypeScreenshot }

// EventType implements Payload.
func (ImageInput) EventType() Type { return TypeImageInput }

// EventType implements Payload.
func (ImageOutput) EventType() Type { return TypeImageOutput }

// EventType implements Payload.
func (MediaStored) EventType() Type { return TypeMediaStored }

// EventType implements Payload.
func (MediaRetrieved) EventType() Type { return TypeMediaRetrieved }

// EventType implements Payload.
func (MediaDeleted) EventType() Type { return TypeMediaDeleted }

// EventType implements Payload.
func (MediaStoreFailed) EventType() Type { return TypeMediaStoreFailed }

// EventType implements Payload.
func (CapabilityCallStarted) EventType() Type { return TypeCapabilityCallStarted }

// EventType implements Payload.
func (CapabilityCallCompleted) EventType() Type { return TypeCapabilityCallCompleted }

// EventType implements Payload.
func (CapabilityCallFailed) EventType() Type { return TypeCapabilityCallFailed }

// EventType implements Payload.
func (EvalCompleted) EventType() Type { return TypeEvalCompleted }

// EventType implements Payload.
func (EvalFailed) EventType() Type { return TypeEvalFailed }

// EventType implements Payload.
func (WorkflowTransitioned) EventType() Type { return TypeWorkflowTransitioned }

// EventType implements Payload.
func (WorkflowCompleted) EventType() Type { return TypeWorkflowCompleted }

// EventType implements Payload.
func (WorkflowMaxVisitsExceeded) EventType() Type { return TypeWorkflowMaxVisitsExceeded }

// EventType implements Payload.
func (WorkflowBudgetExhausted) EventType() Type { return TypeWorkflowBudgetExhausted }

// EventType implements Payload.
func (TemplateStarted) EventType() Type { return TypeTemplateStarted }

// EventType implements Payload.
func (TemplateRendered) EventType() Type { return TypeTemplateRendered }

// EventType implements Payload.
func (TemplateFailed) EventType() Type { return TypeTemplateFailed }

// EventType implements Payload.
func (CompositionStarted) EventType() Type { return TypeCompositionStarted }

// EventType implements Payload.
func (CompositionCompleted) EventType() Type { return TypeCompositionCompleted }

// EventType implements Payload.
func (CompositionStepStarted) EventType() Type { return TypeCompositionStepStarted }

// EventType implements Payload.
func (CompositionStepCompleted) EventType() Type { return TypeCompositionStepCompleted }

// EventType implements Payload.
func (CompositionBranchEvaluated) EventType() Type { return TypeCompositionBranchEvaluated }

// EventType implements Payload.
func (CompositionParallelCompleted) EventType() Type { return TypeCompositionParallelCompleted }

// EventType implements Payload.
func (RunStarted) EventType() Type { return TypeRunStarted }

// EventType implements Payload.
func (RunCompleted) EventType() Type { return TypeRunCompleted }

// EventType implements Payload.
func (RunStopped) EventType() Type { return TypeRunStopped }

// EventType implements Payload.
func (RunFailed) EventType() Type { return TypeRunFailed }

// EventType implements Payload.
func (RunInterrupted) EventType() Type { return TypeRunInterrupted }

// EventType implements Payload.
func (RunResumed) EventType() Type { return TypeRunResumed }

// EventType implements Payload.
func (RunHeartbeat) EventType() Type { return TypeRunHeartbeat }

// EventType implements Payload.
func (Log) EventType() Type { return TypeLog }

// EventType implements Payload.
func (Info) EventType() Type { return TypeInfo }

// EventType implements Payload.
func (Status) EventType() Type { return TypeStatus }

// EventType implements Payload.
func (ModeSwitched) EventType() Type { return TypeModeSwitched }

// EventType implements Payload.
func (Dropped) EventType() Type { return TypeDropped }

// EventType implements Payload.
func (DebuggerPaused) EventType() Type { return TypeDebuggerPaused }

// EventType implements Payload.
func (ExtractBlockStarted) EventType() Type { return TypeExtractBlockStarted }

// EventType implements Payload.
func (ExtractBlockSnapshot) EventType() Type { return TypeExtractBlockSnapshot }

// EventType implements Payload.
func (ExtractBlockCompleted) EventType() Type { return TypeExtractBlockCompleted }

// EventType implements Payload.
func (ExtractBlockMalformed) EventType() Type { return TypeExtractBlockMalformed }

// EventType implements Payload.
func (CostBudgetExceeded) EventType() Type { return TypeCostBudgetExceeded }

// EventType implements Payload.
func (LoopDetected) EventType() Type { return TypeLoopDetected }

// EventType implements Payload.
func (CircuitOpened) EventType() Type { return TypeCircuitOpened }

// EventType implements Payload.
func (CircuitClosed) EventType() Type { return TypeCircuitClosed }

// EventType implements Payload.
func (Span) EventType() Type { return TypeSpan }
