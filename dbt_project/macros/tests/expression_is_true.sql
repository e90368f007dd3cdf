{#- Generic test: every row of the model satisfies `expression` (the rows that do not fail). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
