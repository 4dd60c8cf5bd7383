//! The Map state: its item processor (inline or distributed, or the legacy `Iterator`),
//! where its items come from, and the distributed-map fields.

use serde_json::{Map as JsonMap, Value};

use super::fields::{self, ContextAllowed, Expected};
use super::states::StateCtx;
use super::{Parser, ScopeKind};
use crate::diagnostic::pointer_join;
use crate::model::{
    ExecutionType, ItemBatcher, ItemReader, Map, MapItems, ProcessorMode, QueryLanguage, ScopeId,
};
use crate::template::Template;

/// AWS's cap on `ReaderConfig.MaxItems`.
const MAX_READER_ITEMS: u64 = 100_000_000;

impl Parser {
    pub(super) fn map(
        &mut self,
        obj: &JsonMap<String, Value>,
        ctx: &StateCtx<'_>,
        language: QueryLanguage,
    ) -> Map {
        let pointer = ctx.pointer;
        let jsonpath = language == QueryLanguage::JsonPath;

        let (mode, execution_type, processor) = self.processor(obj, ctx);

        let items = if jsonpath {
            obj.get("ItemsPath").and_then(|v| {
                self.single_value_path(v, &pointer_join(pointer, "ItemsPath"), ContextAllowed::Yes)
                    .map(MapItems::Path)
            })
        } else {
            obj.get("Items").and_then(|v| {
                let items_pointer = pointer_join(pointer, "Items");
                match v {
                    Value::Array(_) => Some(MapItems::Template(self.template(
                        v,
                        &items_pointer,
                        QueryLanguage::Jsonata,
                    ))),
                    Value::String(s) => self
                        .jsonata_expression(s, &items_pointer)
                        .map(|e| MapItems::Template(Template::Jsonata(e))),
                    _ => {
                        self.type_error(Expected::Array, &items_pointer);
                        None
                    }
                }
            })
        };

        let item_selector = match (obj.get("ItemSelector"), obj.get("Parameters")) {
            (Some(_), _) => self.template_field(obj, "ItemSelector", pointer, language),
            (None, Some(_)) if jsonpath => {
                self.template_field(obj, "Parameters", pointer, language)
            }
            _ => None,
        };

        let item_reader = self
            .object_field(obj, "ItemReader", pointer)
            .and_then(|reader| {
                self.item_reader(reader, &pointer_join(pointer, "ItemReader"), language)
            });
        let item_batcher = self
            .object_field(obj, "ItemBatcher", pointer)
            .map(|batcher| {
                self.item_batcher(batcher, &pointer_join(pointer, "ItemBatcher"), language)
            });
        let result_writer = self
            .object_field(obj, "ResultWriter", pointer)
            .map(|writer| {
                self.result_writer(writer, &pointer_join(pointer, "ResultWriter"), language);
                Value::Object(writer.clone())
            });

        let max_concurrency = self.dynamic_integer(
            obj,
            "MaxConcurrency",
            Some("MaxConcurrencyPath"),
            pointer,
            language,
            0,
            None,
        );
        let tolerated_failure_percentage = self.dynamic_number(
            obj,
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            pointer,
            language,
            0.0,
            Some(100.0),
        );
        let tolerated_failure_count = self.dynamic_integer(
            obj,
            "ToleratedFailureCount",
            Some("ToleratedFailureCountPath"),
            pointer,
            language,
            0,
            None,
        );
        let label = self.string_field(obj, "Label", pointer).map(str::to_owned);

        Map {
            processor,
            mode,
            execution_type,
            items,
            item_selector,
            item_reader,
            item_batcher,
            result_writer,
            max_concurrency,
            tolerated_failure_percentage,
            tolerated_failure_count,
            label,
        }
    }

    /// `ItemProcessor` (or `Iterator`) with its `ProcessorConfig`, parsed as a new scope.
    fn processor(
        &mut self,
        obj: &JsonMap<String, Value>,
        ctx: &StateCtx<'_>,
    ) -> (ProcessorMode, Option<ExecutionType>, ScopeId) {
        let key = if obj.contains_key("ItemProcessor") {
            "ItemProcessor"
        } else {
            "Iterator"
        };
        let Some(processor) = self.object_field(obj, key, ctx.pointer) else {
            return (ProcessorMode::Inline, None, ScopeId(0));
        };
        let processor_pointer = pointer_join(ctx.pointer, key);
        let mut mode = ProcessorMode::Inline;
        let mut execution_type = None;
        if let Some(config) = self.object_field(processor, "ProcessorConfig", &processor_pointer) {
            let config_pointer = pointer_join(&processor_pointer, "ProcessorConfig");
            self.unsupported_fields(config, &["Mode", "ExecutionType"], &config_pointer);
            match config.get("Mode") {
                None => {}
                Some(Value::String(m)) if m == "INLINE" => {}
                Some(Value::String(m)) if m == "DISTRIBUTED" => mode = ProcessorMode::Distributed,
                Some(Value::String(_)) => self.schema_error(
                    "Value should be one of the following: [INLINE, DISTRIBUTED]",
                    pointer_join(&config_pointer, "Mode"),
                ),
                Some(_) => {
                    self.type_error(Expected::String, &pointer_join(&config_pointer, "Mode"))
                }
            }
            match (mode, config.get("ExecutionType")) {
                (ProcessorMode::Distributed, None) => {
                    self.required(config, &["ExecutionType"], &config_pointer);
                }
                (ProcessorMode::Inline, Some(_)) => {
                    self.schema_error("Field 'ExecutionType' is not supported", &config_pointer);
                }
                (_, Some(Value::String(t))) if t == "STANDARD" => {
                    execution_type = Some(ExecutionType::Standard);
                }
                (_, Some(Value::String(t))) if t == "EXPRESS" => {
                    execution_type = Some(ExecutionType::Express);
                }
                (_, Some(Value::String(_))) => self.schema_error(
                    "Value should be one of the following: [STANDARD, EXPRESS]",
                    pointer_join(&config_pointer, "ExecutionType"),
                ),
                (_, Some(_)) => {
                    self.type_error(
                        Expected::String,
                        &pointer_join(&config_pointer, "ExecutionType"),
                    );
                }
                (ProcessorMode::Inline, None) => {}
            }
        }
        // A distributed map's iterations are child workflows of their own type; only an
        // inline processor shares the machine's EXPRESS restrictions.
        let express = mode == ProcessorMode::Inline && ctx.express;
        let scope = self.scope(
            processor,
            &processor_pointer,
            Some(ctx.scope),
            ScopeKind::Processor,
            ctx.depth + 1,
            express,
        );
        (mode, execution_type, scope)
    }

    fn item_reader(
        &mut self,
        reader: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
    ) -> Option<ItemReader> {
        self.required(reader, &["Resource"], pointer);
        self.unsupported_fields(
            reader,
            &["Resource", "ReaderConfig", "Parameters", "Arguments"],
            pointer,
        );
        self.other_language_fields(reader, language, pointer);
        let resource = self
            .string_field(reader, "Resource", pointer)
            .map(str::to_owned);
        if let Some(resource) = &resource {
            let allowed = resource
                .strip_prefix("arn:")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(_, rest)| {
                    rest == "states:::s3:getObject" || rest == "states:::s3:listObjectsV2"
                });
            if !allowed {
                self.schema_error(
                    "The field 'Resource' does not match any of the allowed values",
                    pointer_join(pointer, "Resource"),
                );
            }
        }
        let reader_config = self
            .object_field(reader, "ReaderConfig", pointer)
            .map(|config| {
                self.reader_config(config, &pointer_join(pointer, "ReaderConfig"), language);
                Value::Object(config.clone())
            });
        let parameters = match language {
            QueryLanguage::JsonPath => {
                self.object_template_field(reader, "Parameters", pointer, language)
            }
            QueryLanguage::Jsonata => self.template_field(reader, "Arguments", pointer, language),
        };
        Some(ItemReader {
            resource: resource?,
            reader_config,
            parameters,
        })
    }

    fn reader_config(
        &mut self,
        config: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
    ) {
        self.other_language_fields(config, language, pointer);
        self.exclusive(config, &["MaxItems", "MaxItemsPath"], pointer);
        if let Some(input_type) = config.get("InputType") {
            let input_pointer = pointer_join(pointer, "InputType");
            match input_type {
                Value::String(t)
                    if matches!(
                        t.as_str(),
                        "CSV" | "JSON" | "JSONL" | "MANIFEST" | "PARQUET"
                    ) => {}
                Value::String(_) => self.schema_error(
                    "Value should be one of the following: [CSV, JSON, JSONL, MANIFEST, PARQUET]",
                    input_pointer,
                ),
                _ => self.type_error(Expected::String, &input_pointer),
            }
        }
        let _ = self.dynamic_integer(
            config,
            "MaxItems",
            Some("MaxItemsPath"),
            pointer,
            language,
            0,
            Some(MAX_READER_ITEMS),
        );
    }

    fn item_batcher(
        &mut self,
        batcher: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
    ) -> ItemBatcher {
        self.unsupported_fields(
            batcher,
            &[
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
                "BatchInput",
            ],
            pointer,
        );
        self.other_language_fields(batcher, language, pointer);
        self.exclusive(
            batcher,
            &["MaxItemsPerBatch", "MaxItemsPerBatchPath"],
            pointer,
        );
        self.exclusive(
            batcher,
            &["MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"],
            pointer,
        );
        let max_items_per_batch = self.dynamic_integer(
            batcher,
            "MaxItemsPerBatch",
            Some("MaxItemsPerBatchPath"),
            pointer,
            language,
            0,
            None,
        );
        let max_input_bytes_per_batch = self.dynamic_integer(
            batcher,
            "MaxInputBytesPerBatch",
            Some("MaxInputBytesPerBatchPath"),
            pointer,
            language,
            0,
            None,
        );
        let batch_input = self.template_field(batcher, "BatchInput", pointer, language);
        ItemBatcher {
            max_items_per_batch,
            max_input_bytes_per_batch,
            batch_input,
        }
    }

    /// `ResultWriter` is kept as written, but its payload template is still checked.
    fn result_writer(
        &mut self,
        writer: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
    ) {
        self.unsupported_fields(
            writer,
            &["Resource", "Parameters", "Arguments", "WriterConfig"],
            pointer,
        );
        for key in ["Parameters", "Arguments"] {
            if writer.contains_key(key) && fields::field_language(key) != Some(language) {
                self.schema_error(
                    format!(
                        "The field '{key}' is not supported for the '{}' QueryLanguage",
                        language.as_str()
                    ),
                    pointer_join(pointer, key),
                );
            }
        }
        let _ = self.string_field(writer, "Resource", pointer);
        let _ = self.object_field(writer, "WriterConfig", pointer);
        let key = match language {
            QueryLanguage::JsonPath => "Parameters",
            QueryLanguage::Jsonata => "Arguments",
        };
        let _ = self.template_field(writer, key, pointer, language);
    }
}
