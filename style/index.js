import './base.css';
import './processes.css';
import './shares.css';
import 'ol/ol.css';
