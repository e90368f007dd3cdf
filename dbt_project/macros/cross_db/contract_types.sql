{#- Mart contracts (models/marts/*/_*__models.yml) name DuckDB types. dbt enforces a contract by
    casting null to each declared type and comparing the result with the model's columns, both
    as the engine reports them; on Spark the declared DuckDB names are first translated to the
    Spark type of the same values, so one YAML contract is enforced on both engines. -#}
{% macro spark_type_of(data_type) -%}
    {%- set normalized = data_type | trim | lower -%}
    {%- set spark_types = {
        'varchar': 'string', 'text': 'string', 'string': 'string',
        'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp',
        'integer': 'int', 'hugeint': 'decimal(38, 0)', 'real': 'float', 'float8': 'double',
    } -%}
    {%- if normalized.startswith('varchar(') -%}{{ return('string') }}{%- endif -%}
    {{ return(spark_types.get(normalized, data_type)) }}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name] -%}
        {%- set spark_column = {'name': column['name'], 'quote': column.get('quote')} -%}
        {%- if column['data_type'] is defined and column['data_type'] is not none -%}
            {%- do spark_column.update({'data_type': spark_type_of(column['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: spark_column}) -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(translated)) }}
{%- endmacro %}

{#- A mart contract's not_null constraints on Spark. dbt-spark declares them with ALTER COLUMN ...
    SET NOT NULL, which only Delta tables accept; the tables here are Spark's default Parquet
    (Delta Lake's jars are fetched at run time, and nothing is). So the built table is checked
    instead, and a null fails the model as a violated constraint would, naming the columns. -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- if not config.get('contract').enforced -%}{{ return('') }}{%- endif -%}
    {%- set not_null = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- for constraint in column.constraints if constraint.type == 'not_null' -%}
            {%- do not_null.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not not_null -%}{{ return('') }}{%- endif -%}
    {%- set count_nulls -%}
        select
        {%- for name in not_null %}
            sum(case when {{ adapter.quote(name) }} is null then 1 else 0 end){% if not loop.last %},{% endif %}
        {%- endfor %}
        from {{ relation }}
    {%- endset -%}
    {%- set counts = run_query(count_nulls).rows[0] -%}
    {%- set violated = [] -%}
    {%- for name in not_null -%}
        {%- if counts[loop.index0] -%}
            {%- do violated.append(name ~ ' (' ~ counts[loop.index0] ~ ' rows)') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if violated -%}
        {{ exceptions.raise_compiler_error(
            'not_null constraint of the contract violated in ' ~ relation ~ ': ' ~ violated | join(', ')) }}
    {%- endif -%}
{% endmacro %}
