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
