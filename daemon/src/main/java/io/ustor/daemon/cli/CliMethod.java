package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;

/**
 * One ustor-rpc command: its arguments (rpc.py's), how they become the method's params, and how the result is
 * printed (rpc.py's print_json / print_dict / nothing).
 */
record CliMethod(String name, String help, CliArgs args, ParamBuilder params, Output output) {
    enum Output {
        /** rpc.py print_json: a string result without its quotes, anything else as indented JSON. */
        JSON,
        /** rpc.py print_dict: indented JSON. */
        DICT,
        /** rpc.py print_array: the elements on one line, separated by spaces (shell-quoted). */
        ARRAY,
        /** rpc.py prints nothing (bool results of delete/init calls). */
        NONE
    }

    @FunctionalInterface
    interface ParamBuilder {
        ObjectNode build(Map<String, Object> values, ObjectNode params) throws UsageException;
    }
}
