{#- Generic test: the model has no rows (used with severity warn on exception lists). -#}
{% test row_count_is_zero(model) %}
    select * from {{ model }}
{% endtest %}
