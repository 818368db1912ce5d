"""Model instances made from rows a kept statement read, as Django makes them but cheaper.

Django makes each instance with Model.__init__ (signals sent, a setattr() per field) and, for a
raw query, works out which column is which field for every query: a page of 51 mailboxes cost
2.3 M instructions through RawQuerySet, 0.75 M with the statement run and the instances made
here (bench/instructions.py). An instance here is what Model.from_db() makes: its values and
annotations in its __dict__, a ModelState saying it came from the database. Where a model could
make its instances differently (its own __init__ or from_db, init signals, an attribute set
through a descriptor of its own), Django makes them.
"""

from django.db import connections, router
from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

# The descriptors of a model's fields whose __set__, if any, does nothing to a new instance but
# set its value (a ForeignKey's forgets the related object it has not read yet).
_PLAIN_FIELD_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def made_plainly(model, names):
    """Whether setting `names` (attnames and annotations) in a new instance's __dict__ is all
    Django does to make it (signals, which can be connected at any time, are checked when the
    instances are made)."""
    if model.__init__ is not Model.__init__ or model.from_db.__func__ is not Model.from_db.__func__:
        return False
    if None in names or len(set(names)) != len(names):
        return False
    for name in names:
        descriptor = getattr(model, name, None)
        if hasattr(type(descriptor), "__set__") and type(descriptor) not in _PLAIN_FIELD_DESCRIPTORS:
            return False  # a property or a descriptor of its own, which setattr() would call
    return True


def initialised_with_signals(model):
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def make(model, using, names, rows):
    """An instance of `model` per row, each value set as the attribute `names` gives it (only
    for names made_plainly() accepted, with no init signals connected)."""
    instances = []
    new = model.__new__
    for row in rows:
        instance = new(model)
        instance.__dict__.update(zip(names, row))
        state = instance._state = ModelState()
        state.adding = False
        state.db = using
        instances.append(instance)
    return instances


def converted(rows, converters, connection):
    """The rows (lists) with the ORM's converters applied to their values, as
    SQLCompiler.apply_converters applies them: converters is ((position, (functions,
    expression)), …)."""
    done = []
    for row in rows:
        row = list(row)
        for position, (functions, expression) in converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        done.append(row)
    return done


# (model, database, columns, translations) -> (names, converters), or None for Django to make them
_raw_columns = {}


def raw(model, sql, params=(), translations=None):
    """list(model.objects.raw(sql, params, translations)): the same instances, made by make()
    where made_plainly() allows."""
    using = router.db_for_read(model)
    if initialised_with_signals(model):
        return list(model.objects.raw(sql, params, translations=translations))
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        columns = tuple(column[0] for column in cursor.description)
    key = (model, using, columns, tuple(sorted((translations or {}).items())))
    if key not in _raw_columns:
        if len(_raw_columns) > 1000:
            _raw_columns.clear()
        _raw_columns[key] = _raw_reading(model, connection, columns, translations or {})
    reading = _raw_columns[key]
    if reading is None:
        return list(model.objects.raw(sql, params, translations=translations))
    names, converters = reading
    return make(model, using, names, converted(rows, converters, connection) if converters else rows)


def _raw_reading(model, connection, columns, translations):
    """What RawQuerySet makes of each column (RawQuerySet.resolve_model_init_order): a field's
    attname where the column is the field's, its own name (an annotation) otherwise; and the
    fields' converters. None where the columns leave out the primary key (RawQuerySet raises)."""
    identifier = connection.introspection.identifier_converter
    fields = {identifier(field.column): field for field in model._meta.fields}
    columns = [translations.get(column, column) for column in columns]
    names = [fields[column].attname if column in fields else column for column in columns]
    if model._meta.pk.attname not in names or not made_plainly(model, names):
        return None
    converters = []
    for position, column in enumerate(columns):
        field = fields.get(column)
        if field is not None:
            col = field.get_col(field.model._meta.db_table)
            functions = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if functions:
                converters.append((position, (functions, col)))
    return names, tuple(converters)
