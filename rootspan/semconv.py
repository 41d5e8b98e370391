"""Attribute names shared by the tracer, the loaders and the analyses, spelled once.

GenAI names follow the OpenTelemetry GenAI semantic conventions (v1.41); rootspan's own live
under ``rootspan.*``. OpenInference and Traceloop names are read on ingest only.
"""

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM_DEPRECATED = "gen_ai.system"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
# Older names of the same counts (OpenLLMetry/Traceloop before v1.27 of the conventions) and
# OpenInference's; read on ingest only, after the current names.
GEN_AI_USAGE_PROMPT_TOKENS_DEPRECATED = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS_DEPRECATED = "gen_ai.usage.completion_tokens"
OPENINFERENCE_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
OPENINFERENCE_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"  # the tools offered to a model call (JSON), where the producer records them
GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"

OP_INVOKE_AGENT = "invoke_agent"
OP_CHAT = "chat"
OP_TEXT_COMPLETION = "text_completion"
OP_GENERATE_CONTENT = "generate_content"
OP_EXECUTE_TOOL = "execute_tool"
OP_INVOKE_WORKFLOW = "invoke_workflow"
OP_CREATE_AGENT = "create_agent"
OP_EMBEDDINGS = "embeddings"

ROOTSPAN_STEP = "rootspan.step"
ROOTSPAN_INPUTS = "rootspan.inputs"
ROOTSPAN_OUTCOME = "rootspan.outcome"
ROOTSPAN_OUTCOME_REASON = "rootspan.outcome.reason"
ROOTSPAN_EXPECTED = "rootspan.expected"
ROOTSPAN_OUTPUT = "rootspan.output"
# The failure category (DESIGN.md vocabulary) when the instrumentation knows it: error.type holds
# the exception class, which says what was raised, not what went wrong.
ROOTSPAN_ERROR_CATEGORY = "rootspan.error.category"
ROOTSPAN_HANDOFF_TO = "rootspan.handoff.to"  # the agent this step handed the work to
ROOTSPAN_HANDOFF_REASON = "rootspan.handoff.reason"
# Generic process signals any front end may set (the Who&When importer derives them from
# Magentic-One's ledger and AutoGen's code runner); the engine reads only these names.
ROOTSPAN_PROGRESS = "rootspan.progress"  # false: this step reports that progress stopped
ROOTSPAN_LOOP = "rootspan.loop"  # true: this step reports the run is going in circles
ROOTSPAN_DONE_CLAIMED = "rootspan.done_claimed"  # true: this step declares the task finished
ROOTSPAN_CODE_EXIT = "rootspan.code.exit_code"  # exit code of code a tool ran for an agent
ROOTSPAN_CODE_OUTPUT = "rootspan.code.output"  # what that code printed
ROOTSPAN_STOP = "rootspan.stop"  # true: this step ends the run (a terminate signal)
# "synthetic": the span's timestamps order the steps but measure nothing (an importer made them
# up, as for Who&When logs). No bottlenecks or slowdowns are computed for a trace whose root says so.
ROOTSPAN_TIMING = "rootspan.timing"
TIMING_SYNTHETIC = "synthetic"
ROOTSPAN_GPU_PREFIX = "rootspan.gpu."
# A model server's phase of one request (rootspan serve): "queue", "prefill" or "decode".
ROOTSPAN_SERVE_PHASE = "rootspan.serve.phase"
ROOTSPAN_CPU_PREFIX = "rootspan.cpu."
# share of a span covered by a kernel/op profiling window: the span paid the profiler's overhead
ROOTSPAN_PROFILE_COVERAGE = "rootspan.profile.coverage"

OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
TRACELOOP_SPAN_KIND = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME = "traceloop.entity.name"
