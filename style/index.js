import './base.css';
import './processes.css';
import 'ol/ol.css';
