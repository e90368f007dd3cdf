
{#- The raw zone's lineage columns, carried by every staging model (file, row, load date, when
    it was loaded, in UTC), so a mart row can be traced back to the delivered record. -#}
{% macro lineage_columns() -%}
        _source_file,
        _source_row,
        _load_date,
        {{ to_utc('_loaded_at') }} as _loaded_at
{%- endmacro %}
