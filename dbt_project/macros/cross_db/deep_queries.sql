{#- Pre-hooks for a model that is one query of unrolled iterations (the EM of the match
    parameters, the label passes of the clusters) on Spark: its plan is 100+ levels deep, which
    Spark's analyzer resolves only with more than its default 100 iterations, and whose
    constraint propagation grows with the depth until the driver runs out of memory (2 GB). The
    settings stay on for the session: resetting them after one model could pull them from under
    another, planned at the same time in another thread. None elsewhere. -#}
{% macro deep_query_hooks() -%}
    {{ return(adapter.dispatch('deep_query_hooks')()) }}
{%- endmacro %}
{% macro default__deep_query_hooks() -%}
    {{ return([]) }}
{%- endmacro %}
{% macro spark__deep_query_hooks() -%}
    {{ return([
        'set spark.sql.analyzer.maxIterations=1000',
        'set spark.sql.constraintPropagation.enabled=false']) }}
{%- endmacro %}
